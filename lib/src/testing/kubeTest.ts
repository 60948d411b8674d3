// What integration tests need from the local cluster: its details, clients, a namespace of their own, kubectl.
import { KubeConfig, CoreV1Api, type V1Namespace } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ClusterInfo } from './localCluster.js';
import { binaryPaths } from './binaries.js';

/** The cluster the jest global setup started; throws when a test runs outside the `integration` project. */
export function testCluster(): ClusterInfo {
  const text = process.env['TAPR_CLUSTER_INFO'];
  if (!text) throw new Error('no local cluster: integration tests run under the jest "integration" project (npm test)');
  return JSON.parse(text) as ClusterInfo;
}

export function adminKubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(testCluster().kubeconfig);
  return config;
}

/** Creates a namespace with a unique name (`<prefix>-<random>`) and returns its name. */
export async function createTestNamespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40)}-${randomBytes(3).toString('hex')}`;
  const body: V1Namespace = { metadata: { name, labels: { 'tapr.dev/test': 'true', ...labels } } };
  await adminKubeConfig().makeApiClient(CoreV1Api).createNamespace({ body });
  return name;
}

/** Deletes a namespace without waiting for it to go (the namespace controller finishes the job). */
export async function deleteTestNamespace(name: string): Promise<void> {
  await adminKubeConfig()
    .makeApiClient(CoreV1Api)
    .deleteNamespace({ name })
    .catch(() => undefined);
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the kubectl built with the cluster (same version) against the test cluster; never throws on exit codes. */
export function kubectl(args: string[], options: { input?: string; kubeconfig?: string } = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binaryPaths().kubectl, args, {
      env: { ...process.env, KUBECONFIG: options.kubeconfig ?? testCluster().kubeconfig },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
