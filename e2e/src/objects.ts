// Finding things in rendered or live Kubernetes objects, with errors that say what was missing.
import type { KubeObject } from './helm.js';

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  securityContext?: Record<string, unknown>;
  resources?: Record<string, unknown>;
}

export interface PodSpec {
  serviceAccountName?: string;
  containers: Container[];
  volumes?: Array<Record<string, unknown> & { name: string }>;
  securityContext?: Record<string, unknown>;
  affinity?: Record<string, unknown>;
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
  imagePullSecrets?: Array<{ name: string }>;
}

export interface Workload extends KubeObject {
  spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: { metadata: KubeObject['metadata']; spec: PodSpec }; [key: string]: unknown };
}

export function find<T extends KubeObject = KubeObject>(objects: KubeObject[], kind: string, name: string): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`expected exactly one ${kind}/${name} in the rendered chart, found ${found.length} (have: ${have})`);
  }
  return found[0] as T;
}

export function ofKind<T extends KubeObject = KubeObject>(objects: KubeObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

export function onlyContainer(workload: Workload): Container {
  const containers = workload.spec.template.spec.containers;
  if (containers.length !== 1) throw new Error(`${workload.kind}/${workload.metadata.name} has ${containers.length} containers, expected 1`);
  return containers[0]!;
}

/** The value of `--flag` in an argument list, in any of the forms Helm uses (`--flag value`, `--flag=value`). */
export function flagValue(args: string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === flag) return args[i + 1];
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
  }
  return undefined;
}

export function envValue(container: Container, name: string): string | undefined {
  return container.env?.find((e) => e.name === name)?.value;
}
