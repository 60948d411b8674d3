// The chart's settings on the local real node (docs/real-node.md): every image comes from the archives that
// e2e/images/node-images.sh builds and the node imports, so none is ever pulled.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pinnedVersions } from '@tapr/lib/testing';
import { repoRoot } from './helm.js';

/** The stock daprd as node-images.sh tags it. */
export const nodeDaprdImage = `tapr.local/daprd:${pinnedVersions().dapr.replace(/^v/, '')}`;

/** `helm install|upgrade` flags for the node's imported images. */
export const nodeChartFlags = [
  '--set', 'global.imagePullPolicy=Never',
  '--set', `dapr_sidecar_injector.image.name=${nodeDaprdImage}`,
  '--set', 'dapr_sidecar_injector.sidecarImagePullPolicy=Never',
  // The node has no storage provisioner: the scheduler's etcd data lives in memory (emptyDir) there.
  '--set', 'dapr_scheduler.cluster.inMemoryStorage=true',
];

/** The chart's appVersion: the tag of tapr's images. */
export function chartAppVersion(): string {
  const match = /^appVersion: *"?([^"\n]+)"?$/m.exec(readFileSync(path.join(repoRoot, 'charts', 'tapr', 'Chart.yaml'), 'utf8'));
  if (!match) throw new Error('charts/tapr/Chart.yaml has no appVersion');
  return match[1]!;
}
