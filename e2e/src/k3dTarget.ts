// The k3d e2e target (e2e/k3d/run.sh): the chart was installed with `helm install` on a k3d cluster; the services
// run as pods. The test reaches sentry, the operator and the placement leader through `kubectl port-forward`, and
// requests tokens for injected pods like the local target does (here the real kubelet also runs them).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { binaryPaths, kubectl, waitFor } from '@tapr/lib/testing';
import { LocalKubelet } from './localKubelet.js';
import type { ServiceName } from './localControlPlane.js';
import type { Target } from './target.js';

export class K3dControlPlane {
  static async connect(): Promise<Target> {
    const kubeconfigFile = process.env['TAPR_E2E_KUBECONFIG'];
    if (!kubeconfigFile) throw new Error('TAPR_E2E_TARGET=k3d needs TAPR_E2E_KUBECONFIG (the k3d cluster’s kubeconfig; e2e/k3d/run.sh sets it)');
    const namespace = process.env['TAPR_E2E_NAMESPACE'] ?? 'dapr-system';
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigFile);
    const forwards: ChildProcess[] = [];
    const forward = (resource: string, port: number) => portForward(kubeconfigFile, namespace, resource, port, forwards);
    try {
      const leader = await placementLeader(kubeConfig, namespace);
      const addresses = {
        sentry: await forward('svc/dapr-sentry', 443),
        operator: await forward('svc/dapr-api', 443),
        placement: await forward(`pod/${leader}`, 50005),
      };
      return {
        name: 'k3d',
        kubeConfig,
        kubeconfigFile,
        namespace,
        trustDomain: process.env['TAPR_E2E_TRUST_DOMAIN'] ?? 'cluster.local',
        appNamespaceLabels: {},
        kubelet: new LocalKubelet({ kubeConfig, workDir: mkdtempSync(path.join(tmpdir(), 'tapr-e2e-k3d-')) }),
        address: (service: Exclude<ServiceName, 'injector'>) => addresses[service],
        trustAnchors: async () => {
          const cm = await kubeConfig.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace });
          const pem = cm.data?.['ca.crt'];
          if (!pem) throw new Error('ConfigMap dapr-trust-bundle has no ca.crt');
          return pem;
        },
        logs: async () => {
          const apps = { sentry: 'dapr-sentry', operator: 'dapr-operator', injector: 'dapr-sidecar-injector', placement: 'dapr-placement-server' };
          const out = {} as Record<ServiceName, string>;
          for (const [service, app] of Object.entries(apps)) {
            const result = await kubectl(['logs', '-n', namespace, '-l', `app=${app}`, '--tail=-1', '--prefix'], { kubeconfig: kubeconfigFile });
            out[service as ServiceName] = result.stdout;
          }
          return out;
        },
        stop: async () => {
          for (const child of forwards) child.kill('SIGTERM');
          return {};
        },
      };
    } catch (error) {
      for (const child of forwards) child.kill('SIGTERM');
      throw error;
    }
  }
}

/** The placement pod that holds the leader Lease (HA), or the only one. */
async function placementLeader(kubeConfig: KubeConfig, namespace: string): Promise<string> {
  const pods = await kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: 'app=dapr-placement-server' });
  if (pods.items.length === 1) return pods.items[0]!.metadata!.name!;
  return waitFor(
    async () => {
      const lease = await kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'dapr-placement-leader', namespace });
      return lease.spec?.holderIdentity || undefined;
    },
    { what: 'a placement leader', timeoutMs: 60_000 },
  );
}

/** `kubectl port-forward <resource> :<port>` → the local address it prints. */
function portForward(kubeconfig: string, namespace: string, resource: string, port: number, children: ChildProcess[]): Promise<string> {
  const child = spawn(binaryPaths().kubectl, ['port-forward', '-n', namespace, resource, `:${port}`, '--address', '127.0.0.1'], {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubectl port-forward ${resource} printed no address in 30s: ${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(`127.0.0.1:${match[1]}`);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kubectl port-forward ${resource} exited ${code}: ${output}`));
    });
  });
}
