import { stopLocalCluster, type ClusterInfo } from './localCluster.js';

export default async function globalTeardown(): Promise<void> {
  const info = (globalThis as { __taprCluster?: ClusterInfo }).__taprCluster;
  if (info) await stopLocalCluster(info);
}
