// Known answers below come from bench/placement/dapr-ring-reference (Go, golang.org/x/crypto/blake2b — the library
// Dapr's pkg/placement/hashing uses), run once with `go run .`; the three plain hashes were also checked with
// Python's hashlib.blake2b. They are not produced by the code under test.
import { ActorTypeNotFoundError, HashRing, PlacementRings, VirtualNodeCache, placementHash } from './ring.js';

const fiveHosts = ['10.0.0.1:50002', '10.0.0.2:50002', '10.0.0.3:50002', '10.0.0.4:50002', '10.0.0.5:50002'];
const asEntries = (keys: string[]) => keys.map((key) => [key, { name: key, id: `app-${key.slice(7, 8)}` }] as const);

describe('placementHash', () => {
  it.each([
    ['', 241225442164632184n],
    ['abc', 958453735928201402n],
    ['10.0.0.1:500020', 7120362376346592644n],
    ['10.0.0.1:5000299', 8251988567651704418n],
    ['actor-1', 10015260465285814958n],
  ])('hashes %j to the first 8 bytes of BLAKE2b-512, little-endian', (text, expected) => {
    expect(placementHash(text)).toBe(expected);
  });
});

describe('HashRing', () => {
  describe('when built from two hosts with replication factor 3', () => {
    const ring = HashRing.build(asEntries(['127.0.0.1:7002', '127.0.0.1:7001']), { replicationFactor: 3 });

    it('places hash(hostKey + i) virtual nodes in ascending order', () => {
      expect([...ring.virtualNodes()]).toEqual([
        [5878122255627379171n, '127.0.0.1:7001'],
        [7329770694188706888n, '127.0.0.1:7001'],
        [9399421594150453609n, '127.0.0.1:7002'],
        [11422793228934827943n, '127.0.0.1:7002'],
        [13093242224639231882n, '127.0.0.1:7002'],
        [13266144018991029045n, '127.0.0.1:7001'],
      ]);
    });

    it.each([
      ['a', '127.0.0.1:7001'],
      ['b', '127.0.0.1:7001'],
      ['order-17', '127.0.0.1:7002'],
      ['order-18', '127.0.0.1:7001'],
      ['order-19', '127.0.0.1:7002'],
      ['user:42', '127.0.0.1:7002'],
      ['user:43', '127.0.0.1:7001'],
      ['user:44', '127.0.0.1:7001'],
    ])('gives actor %j to %s, as Dapr does', (actorId, owner) => {
      expect(ring.lookupKey(actorId)).toBe(owner);
      expect(ring.lookup(actorId)?.name).toBe(owner);
    });
  });

  describe('when built from five hosts with the default 100 virtual nodes', () => {
    const ring = HashRing.build(asEntries(fiveHosts), { replicationFactor: 100 });

    it('holds 500 virtual nodes spanning the known first and last hashes', () => {
      const nodes = [...ring.virtualNodes()];
      expect(nodes).toHaveLength(500);
      expect(nodes[0]![0]).toBe(119415786621181788n);
      expect(nodes[499]![0]).toBe(18399034068205867065n);
    });

    it.each([
      ['actor-0', '10.0.0.4:50002'],
      ['actor-1', '10.0.0.4:50002'],
      ['actor-2', '10.0.0.3:50002'],
      ['actor-3', '10.0.0.2:50002'],
      ['actor-4', '10.0.0.1:50002'],
      ['actor-5', '10.0.0.2:50002'],
      ['actor-6', '10.0.0.4:50002'],
      ['actor-7', '10.0.0.4:50002'],
      ['actor-8', '10.0.0.2:50002'],
      ['actor-9', '10.0.0.3:50002'],
      ['', '10.0.0.1:50002'],
      ['ü-unicode-€', '10.0.0.3:50002'],
    ])('gives actor %j to %s, as Dapr does', (actorId, owner) => {
      expect(ring.lookupKey(actorId)).toBe(owner);
    });

    it('spreads 100,000 actors exactly as Dapr does, every host within ±25% of the mean', () => {
      const counts = new Map<string, number>();
      for (let n = 0; n < 100_000; n++) {
        const key = ring.lookupKey(`id-${n}`)!;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      expect(Object.fromEntries(counts)).toEqual({
        '10.0.0.1:50002': 22871,
        '10.0.0.2:50002': 17369,
        '10.0.0.3:50002': 17541,
        '10.0.0.4:50002': 22525,
        '10.0.0.5:50002': 19694,
      });
      for (const count of counts.values()) expect(Math.abs(count - 20_000)).toBeLessThan(5_000);
    });

    it('gives the same answers whatever order the hosts arrive in', () => {
      const reversed = HashRing.build(asEntries([...fiveHosts].reverse()), { replicationFactor: 100 });
      for (let n = 0; n < 1_000; n++) expect(reversed.lookupKey(`id-${n}`)).toBe(ring.lookupKey(`id-${n}`));
    });
  });

  describe('when a host leaves', () => {
    it('moves only the actors that host owned', () => {
      const before = HashRing.build(asEntries(fiveHosts), { replicationFactor: 100 });
      const after = HashRing.build(asEntries(fiveHosts.filter((h) => h !== '10.0.0.3:50002')), { replicationFactor: 100 });
      let moved = 0;
      for (let n = 0; n < 10_000; n++) {
        const was = before.lookupKey(`id-${n}`);
        const now = after.lookupKey(`id-${n}`);
        if (was !== '10.0.0.3:50002') expect(now).toBe(was);
        else moved++;
      }
      expect(moved).toBeGreaterThan(0);
    });
  });

  describe('when the ring is empty', () => {
    it('owns nothing', () => {
      const ring = HashRing.build([], { replicationFactor: 100 });
      expect(ring.lookup('anything')).toBeUndefined();
      expect(ring.size).toBe(0);
    });
  });

  describe('when the replication factor is not a positive integer', () => {
    it.each([0, -1, 1.5, Number.NaN])('refuses %p', (factor) => {
      expect(() => HashRing.build(asEntries(fiveHosts), { replicationFactor: factor })).toThrow(/replication factor must be a positive integer/);
    });
  });

  describe('with a shared VirtualNodeCache', () => {
    it('hashes each host once across rebuilds and forgets hosts that left', () => {
      const cache = new VirtualNodeCache();
      HashRing.build(asEntries(fiveHosts), { replicationFactor: 100, cache });
      const first = cache.hashes('10.0.0.1:50002', 100);
      HashRing.build(asEntries(fiveHosts.slice(0, 2)), { replicationFactor: 100, cache });
      expect(cache.hashes('10.0.0.1:50002', 100)).toBe(first);
      cache.retain(new Set(fiveHosts.slice(0, 2)));
      expect(cache.size).toBe(2);
    });
  });
});

describe('PlacementRings', () => {
  const host = (name: string) => ({ name, id: 'app' });
  const rings = PlacementRings.build({
    replicationFactor: 3,
    entries: {
      counter: { '127.0.0.1:7001': host('127.0.0.1:7001'), '127.0.0.1:7002': host('127.0.0.1:7002') },
      timer: { '127.0.0.1:7002': host('127.0.0.1:7002') },
    },
  });

  it('looks up by actor ID within the actor type’s own ring', () => {
    expect(rings.lookup('counter', 'order-17').name).toBe('127.0.0.1:7002');
    expect(rings.lookup('counter', 'order-18').name).toBe('127.0.0.1:7001');
    expect(rings.lookup('timer', 'order-18').name).toBe('127.0.0.1:7002');
    expect(rings.actorTypes()).toEqual(['counter', 'timer']);
  });

  it('fails with Dapr’s "did not find address for actor" for an unknown type', () => {
    expect(() => rings.lookup('missing', 'x')).toThrow(ActorTypeNotFoundError);
    expect(() => rings.lookup('missing', 'x')).toThrow(/did not find address for actor missing/);
  });

  it('accepts Maps as well as plain objects', () => {
    const fromMaps = PlacementRings.build({
      replicationFactor: 3,
      entries: new Map([['counter', new Map([['127.0.0.1:7001', host('127.0.0.1:7001')], ['127.0.0.1:7002', host('127.0.0.1:7002')]])]]),
    });
    expect(fromMaps.lookup('counter', 'order-17').name).toBe('127.0.0.1:7002');
  });
});
