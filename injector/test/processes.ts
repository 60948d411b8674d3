// Running the built binaries (injector, sentry) as child processes for the integration tests, and the documented
// RBAC for the injector's service account.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminKubeConfig, kubectl, testCluster, waitFor } from '@tapr/lib/testing';

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

/**
 * Applies the RBAC block of docs/injector.md for a control-plane namespace (cluster-scoped names and the webhook
 * configuration name made unique per test) and returns a kubeconfig for the `dapr-injector` service account, so
 * the injector runs with exactly the documented permissions.
 */
export async function documentedRbacKubeconfig(namespace: string, webhookConfigurationName: string): Promise<string> {
  const docs = readFileSync(path.join(root, 'docs', 'injector.md'), 'utf8');
  const block = /<!-- rbac:begin -->\s*```yaml\n([\s\S]*?)```\s*<!-- rbac:end -->/.exec(docs)?.[1];
  if (!block) throw new Error('docs/injector.md has no RBAC block between <!-- rbac:begin --> and <!-- rbac:end -->');
  const rbac = block
    .replaceAll('namespace: dapr-system', `namespace: ${namespace}`)
    .replace('resourceNames: [dapr-sidecar-injector]', `resourceNames: [${webhookConfigurationName}]`)
    .replace(/(kind: Cluster(?:Role|RoleBinding)\nmetadata:\n  name: )dapr-injector/g, `$1dapr-injector-${namespace}`)
    .replace(/(kind: ClusterRole\n  name: )dapr-injector/, `$1dapr-injector-${namespace}`);
  const applied = await kubectl(['apply', '-f', '-'], { input: rbac });
  if (applied.code !== 0) throw new Error(`applying the documented RBAC failed: ${applied.stderr}`);
  const core = adminKubeConfig().makeApiClient(CoreV1Api);
  const token = await waitFor(
    () =>
      core
        .createNamespacedServiceAccountToken({ name: 'dapr-injector', namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } })
        .then((r) => r.status?.token),
    { what: 'a token for the dapr-injector service account' },
  );
  const cluster = testCluster();
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'local', server: cluster.server, caFile: cluster.caCertFile, skipTLSVerify: false }],
    users: [{ name: 'dapr-injector', token }],
    contexts: [{ name: 'injector', cluster: 'local', user: 'dapr-injector' }],
    currentContext: 'injector',
  });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'injector-kubeconfig-')), 'kubeconfig');
  writeFileSync(file, config.exportConfig());
  return file;
}

export async function removeClusterRbac(namespace: string): Promise<void> {
  await kubectl(['delete', 'clusterrole,clusterrolebinding', `dapr-injector-${namespace}`, '--ignore-not-found']);
}
