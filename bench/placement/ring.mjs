// Owner lookups per second on the shared ring (lib/src/placement/ring.ts), as a sidecar does them, and the time
// to build rings from a table.
//
//   npx tsc -b lib && node bench/placement/ring.mjs 1000,5000
import { HashRing, VirtualNodeCache } from '../../lib/dist/src/placement/ring.js';

const sizes = (process.argv[2] ?? '1000,5000').split(',').map(Number);
const lookups = 300_000;

for (const hosts of sizes) {
  const entries = Array.from({ length: hosts }, (_, i) => [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:50002`, { id: 'app' }]);
  const cache = new VirtualNodeCache();
  let t = process.hrtime.bigint();
  const ring = HashRing.build(entries, { replicationFactor: 100, cache });
  const coldBuildMs = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  HashRing.build(entries, { replicationFactor: 100, cache });
  const warmBuildMs = Number(process.hrtime.bigint() - t) / 1e6;

  for (let i = 0; i < 20_000; i++) ring.lookupKey(`warmup-${i}`);
  t = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < lookups; i++) sink += ring.lookupKey(`actor-${i}`).length;
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  console.log(JSON.stringify({
    hosts,
    virtualNodes: hosts * 100,
    coldBuildMs: Math.round(coldBuildMs),
    rebuildWithCacheMs: Math.round(warmBuildMs),
    lookupsPerSecond: Math.round(lookups / seconds),
    check: sink > 0,
  }));
}
