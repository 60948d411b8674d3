// Running the built binaries (injector, sentry) as child processes for the integration tests, and the documented
// RBAC for the injector's service account.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rbacFromDocs, serviceAccountKubeconfig, waitFor, type ServiceAccountKubeconfig } from '@tapr/lib/testing';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const injectorMain = path.join(root, 'injector', 'dist', 'src', 'main.js');
export const sentryMain = path.join(root, 'sentry', 'dist', 'src', 'main.js');

export interface ServiceProcess {
  child: ChildProcess;
  output(): string;
  /** SIGTERM (once), then the exit code. */
  stop(): Promise<number | null>;
}

export function startProcess(main: string, args: string[], env: NodeJS.ProcessEnv): ServiceProcess {
  const child = spawn(process.execPath, [main, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Waits until GET http://127.0.0.1:<port>/healthz answers 200; fails early (with its output) if the process exits. */
export async function waitHealthy(service: ServiceProcess, port: number, what: string): Promise<void> {
  await waitFor(
    async () => {
      if (service.child.exitCode !== null) throw new Error(`${what} exited with ${service.child.exitCode}:\n${service.output()}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
    },
    { what: `${what} to be healthy`, timeoutMs: 45_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n--- ${what} output ---\n${service.output()}`);
  });
}

const applied = new Map<string, ServiceAccountKubeconfig>();

/**
 * Applies the RBAC block of docs/injector.md for a control-plane namespace (cluster-scoped names and the webhook
 * configuration name made unique per test) and returns a kubeconfig for the `dapr-injector` service account, so
 * the injector runs with exactly the documented permissions.
 */
export async function documentedRbacKubeconfig(namespace: string, webhookConfigurationName: string): Promise<string> {
  const rbac = rbacFromDocs(path.join(root, 'docs', 'injector.md'))
    .replaceAll('namespace: dapr-system', `namespace: ${namespace}`)
    .replace('resourceNames: [dapr-sidecar-injector]', `resourceNames: [${webhookConfigurationName}]`)
    .replace(/(kind: Cluster(?:Role|RoleBinding)\nmetadata:\n  name: )dapr-injector/g, `$1dapr-injector-${namespace}`)
    .replace(/(kind: ClusterRole\n  name: )dapr-injector/, `$1dapr-injector-${namespace}`);
  const access = await serviceAccountKubeconfig({ namespace, serviceAccount: 'dapr-injector', rbac });
  applied.set(namespace, access);
  return access.file;
}

export async function removeClusterRbac(namespace: string): Promise<void> {
  await applied.get(namespace)?.remove();
  applied.delete(namespace);
}
