// The consistent-hash ring a Dapr sidecar builds from a placement table to find the host of an actor (spec §3.5).
// Placement only sends `load_map` (host key → Host) and `replication_factor`; every sidecar computes the same ring:
//   - per actor type, `replicationFactor` virtual nodes per host, the i-th at hash(hostKey + decimal(i));
//   - hash(s) = the first 8 bytes of BLAKE2b-512(s) read as a little-endian uint64;
//   - the owner of an actor is the host of the first virtual node whose hash is ≥ hash(actorId), wrapping to the
//     first node; the actor type is not part of the key (the ring is already per type).
// The placement server and tapr's sidecar use this module, so both agree with Dapr's algorithm bit for bit.
import crypto from 'node:crypto';

/** Dapr's default number of virtual nodes per host (`--replicationFactor`). */
export const defaultReplicationFactor = 100;

// crypto.hash (one call, no Hash object) is ~40% faster than createHash; Node 20.12+ has it.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash;

/** Dapr's ring hash: BLAKE2b-512 of the UTF-8 text, first 8 bytes as a little-endian unsigned 64-bit integer. */
export function placementHash(key: string): bigint {
  const digest = oneShotHash ? oneShotHash('blake2b512', key, 'buffer') : crypto.createHash('blake2b512').update(key).digest();
  return digest.readBigUInt64LE(0);
}

/**
 * Virtual-node hashes per (replication factor, host key). Tables change a few hosts at a time, so a sidecar
 * rebuilding its rings after each dissemination re-hashes only the new hosts. `retain` drops hosts that left.
 */
export class VirtualNodeCache {
  readonly #byFactor = new Map<number, Map<string, BigUint64Array>>();

  hashes(hostKey: string, replicationFactor: number): BigUint64Array {
    let byKey = this.#byFactor.get(replicationFactor);
    if (!byKey) this.#byFactor.set(replicationFactor, (byKey = new Map()));
    let hashes = byKey.get(hostKey);
    if (!hashes) {
      hashes = new BigUint64Array(replicationFactor);
      for (let i = 0; i < replicationFactor; i++) hashes[i] = placementHash(`${hostKey}${i}`);
      byKey.set(hostKey, hashes);
    }
    return hashes;
  }

  /** Forgets every host key not in `keep` (call after installing a new table). */
  retain(keep: ReadonlySet<string>): void {
    for (const [factor, byKey] of this.#byFactor) {
      for (const key of byKey.keys()) if (!keep.has(key)) byKey.delete(key);
      if (byKey.size === 0) this.#byFactor.delete(factor);
    }
  }

  get size(): number {
    let n = 0;
    for (const byKey of this.#byFactor.values()) n += byKey.size;
    return n;
  }
}

export interface RingOptions {
  replicationFactor: number;
  /** Shares virtual-node hashes between rings and rebuilds; a private cache is used when absent. */
  cache?: VirtualNodeCache;
}

/** One actor type's ring: host keys (the `load_map` keys) to hosts of any shape `H`. */
export class HashRing<H> {
  readonly #keys: string[];
  readonly #hosts: H[];
  /** Virtual-node hashes in ascending order, and the index (into #keys/#hosts) of each node's host. */
  readonly #nodes: BigUint64Array;
  readonly #owners: Uint32Array;

  private constructor(keys: string[], hosts: H[], nodes: BigUint64Array, owners: Uint32Array) {
    this.#keys = keys;
    this.#hosts = hosts;
    this.#nodes = nodes;
    this.#owners = owners;
  }

  /**
   * Builds the ring of `hosts` (host key → host). Of two virtual nodes with the same hash (odds ~n²/2⁶⁵) the
   * one of the host whose key sorts first wins lookups: Dapr's choice there depends on Go's map order, so no
   * rule can match it.
   */
  static build<H>(hosts: Iterable<readonly [key: string, host: H]> | ReadonlyMap<string, H>, options: RingOptions): HashRing<H> {
    const { replicationFactor } = options;
    if (!Number.isInteger(replicationFactor) || replicationFactor <= 0) {
      throw new RangeError(`replication factor must be a positive integer, got ${replicationFactor}`);
    }
    const cache = options.cache ?? new VirtualNodeCache();
    const entries = [...hosts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const keys = entries.map(([key]) => key);
    const values = entries.map(([, host]) => host);

    const total = keys.length * replicationFactor;
    const nodes = new BigUint64Array(total);
    const owners = new Uint32Array(total);
    for (let h = 0; h < keys.length; h++) {
      nodes.set(cache.hashes(keys[h]!, replicationFactor), h * replicationFactor);
      owners.fill(h, h * replicationFactor, (h + 1) * replicationFactor);
    }
    sortByHash(nodes, owners);
    return new HashRing(keys, values, nodes, owners);
  }

  /** The host that owns `actorId`, or undefined when the ring is empty. */
  lookup(actorId: string): H | undefined {
    const index = this.nodeIndex(placementHash(actorId));
    return index === undefined ? undefined : this.#hosts[this.#owners[index]!];
  }

  /** The host key (load_map key) that owns `actorId`, or undefined when the ring is empty. */
  lookupKey(actorId: string): string | undefined {
    const index = this.nodeIndex(placementHash(actorId));
    return index === undefined ? undefined : this.#keys[this.#owners[index]!];
  }

  /** Index of the first virtual node with hash ≥ `hash`, wrapping to 0 past the end. */
  private nodeIndex(hash: bigint): number | undefined {
    const nodes = this.#nodes;
    if (nodes.length === 0) return undefined;
    let lo = 0;
    let hi = nodes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (nodes[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === nodes.length ? 0 : lo;
  }

  get size(): number {
    return this.#keys.length;
  }

  /** Host keys in the ring, sorted. */
  hostKeys(): readonly string[] {
    return this.#keys;
  }

  /** Virtual nodes as [hash, host key] in ring order (for diagnostics and tests). */
  *virtualNodes(): IterableIterator<[bigint, string]> {
    for (let i = 0; i < this.#nodes.length; i++) yield [this.#nodes[i]!, this.#keys[this.#owners[i]!]!];
  }
}

/**
 * Sorts virtual nodes by hash, carrying each node's owner along: an LSD radix sort over the hash's four 16-bit
 * digits (stable, so equal hashes keep host-key order). A Map from hash to owner would cost several times more
 * for the 500,000 nodes of a 5,000-host ring.
 */
function sortByHash(nodes: BigUint64Array, owners: Uint32Array): void {
  const n = nodes.length;
  // Each hash as two 32-bit words, [low, high] (little-endian).
  let words: Uint32Array<ArrayBufferLike> = new Uint32Array(nodes.buffer, nodes.byteOffset, n * 2);
  let ids: Uint32Array<ArrayBufferLike> = owners;
  let spareWords: Uint32Array<ArrayBufferLike> = new Uint32Array(n * 2);
  let spareIds: Uint32Array<ArrayBufferLike> = new Uint32Array(n);
  const counts = new Uint32Array(65536);
  for (let pass = 0; pass < 4; pass++) {
    const word = pass >> 1;
    const shift = (pass & 1) * 16;
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(words[2 * i + word]! >>> shift) & 0xffff]!++;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const to = counts[(words[2 * i + word]! >>> shift) & 0xffff]!++;
      spareWords[2 * to] = words[2 * i]!;
      spareWords[2 * to + 1] = words[2 * i + 1]!;
      spareIds[to] = ids[i]!;
    }
    [words, spareWords] = [spareWords, words];
    [ids, spareIds] = [spareIds, ids];
  }
  // Four passes: the sorted data is back in the original arrays.
}

/** A placement table in plain terms: actor type → (host key → host), and the replication factor. */
export interface PlacementTableView<H> {
  replicationFactor: number;
  entries: ReadonlyMap<string, ReadonlyMap<string, H>> | Record<string, Record<string, H>>;
}

export class ActorTypeNotFoundError extends Error {
  constructor(readonly actorType: string) {
    super(`did not find address for actor ${actorType}: the placement table has no hosts for this actor type`);
    this.name = 'ActorTypeNotFoundError';
  }
}

/** Rings for every actor type of one placement table, as a sidecar holds them. */
export class PlacementRings<H> {
  readonly #rings: Map<string, HashRing<H>>;

  private constructor(rings: Map<string, HashRing<H>>) {
    this.#rings = rings;
  }

  static build<H>(table: PlacementTableView<H>, cache = new VirtualNodeCache()): PlacementRings<H> {
    const rings = new Map<string, HashRing<H>>();
    const entries = table.entries instanceof Map ? [...table.entries] : Object.entries(table.entries);
    for (const [actorType, loadMap] of entries) {
      const hosts = loadMap instanceof Map ? loadMap : Object.entries(loadMap as Record<string, H>);
      rings.set(actorType, HashRing.build(hosts, { replicationFactor: table.replicationFactor, cache }));
    }
    return new PlacementRings(rings);
  }

  /** The host of `(actorType, actorId)`; throws ActorTypeNotFoundError when no host serves the type. */
  lookup(actorType: string, actorId: string): H {
    const host = this.#rings.get(actorType)?.lookup(actorId);
    if (host === undefined) throw new ActorTypeNotFoundError(actorType);
    return host;
  }

  ring(actorType: string): HashRing<H> | undefined {
    return this.#rings.get(actorType);
  }

  actorTypes(): string[] {
    return [...this.#rings.keys()].sort();
  }
}
