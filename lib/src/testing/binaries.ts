// Where the local control plane's binaries live, and building them on first use (lib/testing/build-binaries.sh).
import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** lib/testing, found from this file whether it runs from src (ts-jest) or dist. */
export const testingAssetsDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`) ? '../../../testing' : '../../testing',
);

export interface Versions {
  kube: string;
  etcd: string;
  helm: string;
  dapr: string;
  coredns: string;
}

export function pinnedVersions(): Versions {
  const text = readFileSync(path.join(testingAssetsDir, 'versions.env'), 'utf8');
  const get = (key: string) => {
    const match = new RegExp(`^${key}=(\\S+)$`, 'm').exec(text);
    if (!match) throw new Error(`lib/testing/versions.env has no ${key}`);
    return match[1]!;
  };
  return { kube: get('KUBE_VERSION'), etcd: get('ETCD_VERSION'), helm: get('HELM_VERSION'), dapr: get('DAPR_VERSION'), coredns: get('COREDNS_VERSION') };
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['TAPR_CACHE_DIR'] ?? path.join(homedir(), '.cache', 'tapr');
}

export interface BinaryPaths {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  helm: string;
  /** Dapr's own sidecar (github.com/dapr/dapr), built with the components the e2e tests use. */
  daprd: string;
  /** Cluster DNS for the local node's pods (github.com/coredns/coredns). */
  coredns: string;
}

export function binaryPaths(versions = pinnedVersions(), cache = cacheDir()): BinaryPaths {
  const kube = path.join(cache, 'bin', `kube-${versions.kube}`);
  return {
    etcd: path.join(cache, 'bin', `etcd-${versions.etcd}`, 'etcd'),
    kubeApiserver: path.join(kube, 'kube-apiserver'),
    kubeControllerManager: path.join(kube, 'kube-controller-manager'),
    kubectl: path.join(kube, 'kubectl'),
    helm: path.join(cache, 'bin', `helm-${versions.helm}`, 'helm'),
    daprd: path.join(cache, 'bin', `daprd-${versions.dapr}`, 'daprd'),
    coredns: path.join(cache, 'bin', `coredns-${versions.coredns}`, 'coredns'),
  };
}

/** Builds whatever is missing (minutes on the first run on a machine, nothing afterwards) and returns the paths. */
export function ensureBinaries(which: 'all' | 'kube' | 'etcd' | 'helm' | 'daprd' = 'all'): BinaryPaths {
  const paths = binaryPaths();
  // `all` is what `make binaries` builds; CoreDNS belongs to the opt-in node (build-binaries.sh node).
  const needed =
    which === 'all'
      ? [paths.etcd, paths.kubeApiserver, paths.kubeControllerManager, paths.kubectl, paths.helm, paths.daprd]
      : which === 'kube'
        ? [paths.kubeApiserver, paths.kubeControllerManager, paths.kubectl]
        : [paths[which]];
  if (needed.every((file) => existsSync(file))) return paths;
  const result = spawnSync('bash', [path.join(testingAssetsDir, 'build-binaries.sh'), which], { stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(`building the local control plane's binaries failed (exit ${result.status}); run lib/testing/build-binaries.sh to see why`);
  }
  return paths;
}
