// Where the e2e assertions run: `local` (default) — the chart's objects on the local API server, the services as
// local processes; `k3d` — a chart installed with `helm install` on a k3d cluster (e2e/k3d/run.sh), reached with
// kubectl port-forward. The assertions are the same for both.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { createTestNamespace, testCluster } from '@tapr/lib/testing';
import { LocalControlPlane, services, type ServiceName } from './localControlPlane.js';
import { LocalKubelet } from './localKubelet.js';
import { K3dControlPlane } from './k3dTarget.js';

export interface Target {
  readonly name: 'local' | 'k3d';
  readonly kubeConfig: KubeConfig;
  readonly kubeconfigFile: string;
  /** The control-plane namespace. */
  readonly namespace: string;
  readonly trustDomain: string;
  /** Labels a namespace needs for the webhook to see its pods. */
  readonly appNamespaceLabels: Record<string, string>;
  /** Plays the kubelet's token requests for injected pods. */
  readonly kubelet: LocalKubelet;
  /** host:port of a service, reachable from this process. */
  address(service: Exclude<ServiceName, 'injector'>): string;
  trustAnchors(): Promise<string>;
  /** What each service has logged so far. */
  logs(): Promise<Record<ServiceName, string>>;
  /** Stops what the target started; the exit codes of local services (k3d: none). */
  stop(): Promise<Partial<Record<ServiceName, number | null>>>;
}

export async function startTarget(): Promise<Target> {
  const which = process.env['TAPR_E2E_TARGET'] ?? 'local';
  if (which === 'k3d') return K3dControlPlane.connect();
  if (which !== 'local') throw new Error(`TAPR_E2E_TARGET=${which}: expected local or k3d`);
  return startLocal();
}

async function startLocal(): Promise<Target> {
  const cluster = testCluster();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.kubeconfig);
  const runId = path.basename(mkdtempSync(path.join(tmpdir(), 'tapr-e2e-'))).replace(/^tapr-e2e-/, '').toLowerCase();
  const namespace = await createTestNamespace('tapr-e2e-system');
  const appNamespaceLabels = { 'tapr.dev/e2e-run': runId.replace(/[^a-z0-9]/g, 'x') };
  const workDir = mkdtempSync(path.join(tmpdir(), 'tapr-e2e-local-'));
  const controlPlane = new LocalControlPlane({
    kubeConfig,
    kubeconfigFile: cluster.kubeconfig,
    server: cluster.server,
    namespace,
    webhookNamespaceLabel: { key: 'tapr.dev/e2e-run', value: appNamespaceLabels['tapr.dev/e2e-run'] },
    secretReaderNamespace: namespace,
    workDir,
  });
  try {
    await controlPlane.start();
  } catch (error) {
    await controlPlane.stop();
    throw error;
  }
  return {
    name: 'local',
    kubeConfig,
    kubeconfigFile: cluster.kubeconfig,
    namespace,
    trustDomain: 'cluster.local',
    appNamespaceLabels,
    kubelet: controlPlane.kubelet,
    address: (service) => controlPlane.address(service),
    trustAnchors: () => controlPlane.trustAnchors(),
    logs: async () => Object.fromEntries(services.map((s) => [s, controlPlane.output(s)])) as Record<ServiceName, string>,
    stop: () => controlPlane.stop(),
  };
}
