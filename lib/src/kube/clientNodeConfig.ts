// client-node's KubeConfig, for code that still hands one to client-node's typed API classes (placement's Lease
// store, until it moves to KubeHttp). Loading KubeConfig loads client-node's generated API models (about 70 MiB
// RSS), so this module only loads it when `loadKubeConfig` is called: importing lib costs nothing for the services
// that never call it. The configuration is found by `loadClusterAccess` (same order, same errors) and read into a
// KubeConfig from the same place.
import { createRequire } from 'node:module';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadClusterAccess, type ClusterAccessOrigin, type ClusterAccessSource } from './clusterAccess.js';

export type KubeConfigSource = ClusterAccessSource;
export type KubeConfigOrigin = Exclude<ClusterAccessOrigin, 'given'>;

const require = createRequire(import.meta.url);

/** @deprecated Use `loadClusterAccess` and `KubeHttp`; this loads client-node's generated models. */
export function loadKubeConfig(source: KubeConfigSource): { config: KubeConfig; origin: KubeConfigOrigin } {
  const access = loadClusterAccess(source);
  // Node 20.19+ loads an ES module with require() when its graph has no top-level await (client-node's has none).
  const { KubeConfig: KubeConfigClass } = require('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
  const config = new KubeConfigClass();
  if (access.file) {
    config.loadFromFile(access.file);
  } else {
    config.loadFromCluster();
  }
  return { config, origin: access.origin as KubeConfigOrigin };
}
