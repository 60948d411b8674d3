// Shared set-up of the operator benchmarks: a local control plane (a running one via TAPR_CLUSTER_DIR, else a fresh
// one stopped at the end), the dapr.io CRDs, a test trust bundle and SVIDs, and the compiled operator.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import {
  createTestTrustBundle,
  installCrds,
  issueTestSvid,
  readClusterInfo,
  startLocalCluster,
  stopLocalCluster,
} from '@tapr/lib/testing';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const operatorDist = path.join(repo, 'operator', 'dist', 'src');

export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

export async function cluster() {
  if (!existsSync(path.join(operatorDist, 'operator.js'))) throw new Error('build first: npx tsc -b operator');
  const reuse = process.env.TAPR_CLUSTER_DIR;
  let info = reuse ? readClusterInfo(path.resolve(reuse)) : undefined;
  const owned = !info;
  if (!info) info = await startLocalCluster({});
  installCrds(info.kubeconfig);
  const { fromKubeconfigFile } = await import('@tapr/lib/kube');
  return {
    info,
    access: fromKubeconfigFile(info.kubeconfig),
    async stop() {
      if (owned) await stopLocalCluster(info);
    },
  };
}

export { createTestTrustBundle, issueTestSvid };

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function pool(items, concurrency, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++];
        await fn(item);
      }
    }),
  );
}
