// What the kubelet does to a container's env and args before it starts: downward-API values and $(VAR) expansion.
import type { Container } from './objects.js';

export interface PodFacts {
  name: string;
  namespace: string;
  serviceAccountName?: string;
  podIp?: string;
  nodeName?: string;
}

/** The container's environment as the process sees it (literal values and fieldRefs; others are an error). */
export function resolveEnv(container: Container, pod: PodFacts): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of container.env ?? []) {
    if (entry.value !== undefined) env[entry.name] = expand(entry.value, env);
    else if (entry.valueFrom?.fieldRef) env[entry.name] = fieldValue(entry.valueFrom.fieldRef.fieldPath, pod);
    else if (entry.valueFrom) throw new Error(`env ${entry.name}: only literal values and fieldRefs are supported here`);
    else env[entry.name] = '';
  }
  return env;
}

function fieldValue(fieldPath: string, pod: PodFacts): string {
  switch (fieldPath) {
    case 'metadata.name':
      return pod.name;
    case 'metadata.namespace':
      return pod.namespace;
    case 'spec.serviceAccountName':
      return pod.serviceAccountName ?? 'default';
    case 'status.podIP':
      return pod.podIp ?? '127.0.0.1';
    case 'spec.nodeName':
      return pod.nodeName ?? 'local';
    default:
      throw new Error(`fieldRef ${fieldPath} is not supported here`);
  }
}

/** Kubernetes' $(VAR) expansion: defined variables are replaced, `$$` escapes, unknown references stay as they are. */
export function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in env ? env[name]! : match;
  });
}

export function expandArgs(args: string[], env: Record<string, string>): string[] {
  return args.map((arg) => expand(arg, env));
}
