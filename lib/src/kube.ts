// The Kubernetes client configuration every service uses, found the way Dapr's binaries find it (spec §11):
// `--kubeconfig`, then `KUBECONFIG`, then in-cluster, then `~/.kube/config` — or, for sentry, in-cluster first.
// In-cluster means KUBERNETES_SERVICE_HOST *and* _PORT are set and the service-account token exists: Dapr's test
// harness sets only `KUBERNETES_SERVICE_HOST=anything`, which must not count (spec §11.10).
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConfigSource {
  /** Value of the `--kubeconfig` flag ("" when not given). */
  kubeconfigFlag: string;
  env: NodeJS.ProcessEnv;
  /** Sentry tries in-cluster before any file. */
  preferInCluster?: boolean;
  /** For tests: where the service-account token would be. */
  serviceAccountTokenPath?: string;
}

export type KubeConfigOrigin = 'flag' | 'KUBECONFIG' | 'in-cluster' | 'home';

export function loadKubeConfig(source: KubeConfigSource): { config: KubeConfig; origin: KubeConfigOrigin } {
  const tokenPath = source.serviceAccountTokenPath ?? path.join(serviceAccountDir, 'token');
  const inCluster = Boolean(source.env['KUBERNETES_SERVICE_HOST'] && source.env['KUBERNETES_SERVICE_PORT'] && existsSync(tokenPath));
  const candidates: Array<[KubeConfigOrigin, () => KubeConfig | undefined]> = [
    ['flag', () => (source.kubeconfigFlag ? fromFile(source.kubeconfigFlag, '--kubeconfig') : undefined)],
    ['KUBECONFIG', () => (source.env['KUBECONFIG'] ? fromFile(source.env['KUBECONFIG'], 'KUBECONFIG') : undefined)],
    ['in-cluster', () => (inCluster ? fromCluster() : undefined)],
    ['home', () => homeConfig(source.env)],
  ];
  if (source.preferInCluster) candidates.unshift(candidates.splice(2, 1)[0]!);
  for (const [origin, load] of candidates) {
    const config = load();
    if (config) return { config, origin };
  }
  throw new Error(
    'no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, run in a pod with a service account, or create ~/.kube/config',
  );
}

function fromFile(file: string, from: string): KubeConfig {
  if (!existsSync(file)) throw new Error(`kubeconfig file ${file} (from ${from}) does not exist`);
  const config = new KubeConfig();
  try {
    config.loadFromFile(file);
  } catch (error) {
    throw new Error(`cannot read kubeconfig ${file} (from ${from}): ${(error as Error).message}`, { cause: error });
  }
  if (!config.getCurrentCluster()) throw new Error(`kubeconfig ${file} (from ${from}) has no current cluster`);
  return config;
}

function fromCluster(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromCluster();
  return config;
}

function homeConfig(env: NodeJS.ProcessEnv): KubeConfig | undefined {
  const home = env['HOME'] ?? homedir();
  if (!home) return undefined;
  const file = path.join(home, '.kube', 'config');
  return existsSync(file) ? fromFile(file, '~/.kube/config') : undefined;
}
