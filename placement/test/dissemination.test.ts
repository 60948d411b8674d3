// Simulated sidecars (our own gRPC clients on the @dapr/dapr stubs) against the real placement service over
// mutual TLS: joins, leaves, batching, namespaces, and every sidecar computing the same actor owners.
import { waitFor } from '@tapr/lib/testing';
import { HashRing } from '@tapr/lib/placement/ring';
import { startPlacement, type RunningPlacement } from './harness.js';
import type { SimulatedSidecar } from './simulatedSidecar.js';

const sameVersion = (sidecars: SimulatedSidecar[]) => {
  const versions = new Set(sidecars.map((s) => s.readyVersion));
  return versions.size === 1 && !versions.has(undefined) ? [...versions][0]! : undefined;
};

describe('placement dissemination to simulated sidecars over mTLS', () => {
  let placement: RunningPlacement;

  beforeAll(async () => {
    placement = await startPlacement([
      '--dissemination-batch-quiet-period=100ms',
      '--dissemination-batch-max-delay=500ms',
      '--settle-quiet-period=100ms',
    ]);
  });
  afterAll(async () => {
    await placement.stop();
  });

  describe('when actor hosts join', () => {
    it('gives every sidecar the same table at the same version, and they agree on every owner', async () => {
      const ns = 'join';
      const hosts = await Promise.all(
        [1, 2, 3].map((i) => placement.sidecar({ name: `10.1.0.${i}:50002`, id: 'orders', namespace: ns, entities: ['counter', 'timer'] })),
      );
      const version = await waitFor(() => (hosts.every((h) => h.hostsOf('counter').length === 3) ? sameVersion(hosts) : undefined), {
        what: 'three hosts holding a three-host table',
      });
      expect(version).toBeGreaterThan(0);
      for (const sidecar of hosts) {
        expect(sidecar.table?.replicationFactor).toBe(100);
        expect(sidecar.hostsOf('counter')).toEqual(['10.1.0.1:50002', '10.1.0.2:50002', '10.1.0.3:50002']);
        expect(sidecar.table?.entries['counter']?.['10.1.0.2:50002']).toEqual({
          name: '10.1.0.2:50002',
          id: 'orders',
          namespace: ns,
          entities: ['counter', 'timer'],
        });
      }
      // Every sidecar resolves each actor to the same host, and that host is the one the ring gives.
      const ring = HashRing.build(hosts.map((h) => [h.options.name, h.options.name] as const), { replicationFactor: 100 });
      const owners = new Set<string>();
      for (let n = 0; n < 200; n++) {
        const expected = ring.lookup(`actor-${n}`);
        for (const sidecar of hosts) expect(sidecar.owner('counter', `actor-${n}`)).toBe(expected);
        owners.add(expected!);
      }
      expect(owners.size).toBe(3);
    });
  });

  describe('when a sidecar without actor types joins', () => {
    it('sends it the namespace table and adds no round for it', async () => {
      const ns = 'consumer';
      const host = await placement.sidecar({ name: '10.2.0.1:50002', id: 'orders', namespace: ns, entities: ['counter'] });
      await waitFor(() => host.hostsOf('counter').length === 1 && host.readyVersion, { what: 'the actor host to hold a table with itself' });
      const rounds = await placement.metric('dapr_placement_disseminations_total', { host_namespace: ns });
      const consumer = await placement.sidecar({ name: '10.2.0.9:50002', id: 'web', namespace: ns, entities: [] });
      await waitFor(() => consumer.readyVersion === host.readyVersion, { what: 'the consumer to hold the current table' });
      expect(consumer.hostsOf('counter')).toEqual(['10.2.0.1:50002']);
      expect(consumer.owner('counter', 'anything')).toBe('10.2.0.1:50002');
      expect(await placement.metric('dapr_placement_disseminations_total', { host_namespace: ns })).toBe(rounds);
      expect(await placement.metric('dapr_placement_runtimes_total', { host_namespace: ns })).toBe(2);
      expect(await placement.metric('dapr_placement_actor_runtimes_total', { host_namespace: ns })).toBe(1);
    });
  });

  describe('when a sidecar leaves', () => {
    it('disseminates a table without it to the others', async () => {
      const ns = 'leave';
      const hosts = await Promise.all(
        [1, 2, 3].map((i) => placement.sidecar({ name: `10.3.0.${i}:50002`, id: 'orders', namespace: ns, entities: ['counter'] })),
      );
      await waitFor(() => hosts.every((h) => h.hostsOf('counter').length === 3) && sameVersion(hosts), { what: 'a full table' });
      hosts[1]!.leave();
      const rest = [hosts[0]!, hosts[2]!];
      await waitFor(() => rest.every((h) => h.hostsOf('counter').length === 2) && sameVersion(rest), { what: 'a table without the leaver' });
      expect(rest[0]!.hostsOf('counter')).toEqual(['10.3.0.1:50002', '10.3.0.3:50002']);
    });
  });

  describe('when a sidecar changes its actor types', () => {
    it('disseminates the new types', async () => {
      const ns = 'retype';
      const a = await placement.sidecar({ name: '10.4.0.1:50002', id: 'orders', namespace: ns, entities: ['counter'] });
      const b = await placement.sidecar({ name: '10.4.0.2:50002', id: 'orders', namespace: ns, entities: ['counter'] });
      await waitFor(() => a.hostsOf('counter').length === 2 && sameVersion([a, b]), { what: 'the first table' });
      b.setEntities(['counter', 'workflow']);
      await waitFor(() => a.hostsOf('workflow').length === 1 && sameVersion([a, b]), { what: 'the new actor type' });
      expect(b.hostsOf('workflow')).toEqual(['10.4.0.2:50002']);
    });
  });

  describe('when many sidecars join at once', () => {
    it('batches them into a handful of rounds', async () => {
      const ns = 'batch';
      const hosts = await Promise.all(
        Array.from({ length: 30 }, (_, i) => placement.sidecar({ name: `10.5.0.${i}:50002`, id: 'orders', namespace: ns, entities: ['counter'] })),
      );
      await waitFor(() => hosts.every((h) => h.hostsOf('counter').length === 30) && sameVersion(hosts), { what: 'all 30 in one table' });
      const rounds = await placement.metric('dapr_placement_disseminations_total', { host_namespace: ns, cause: 'change' });
      expect(rounds).toBeGreaterThanOrEqual(1);
      expect(rounds).toBeLessThanOrEqual(3);
    });
  });

  describe('when sidecars are in different namespaces', () => {
    it('shows each only its own namespace’s hosts, with independent versions', async () => {
      const a1 = await placement.sidecar({ name: '10.6.0.1:50002', id: 'orders', namespace: 'team-a', entities: ['counter'] });
      const a2 = await placement.sidecar({ name: '10.6.0.2:50002', id: 'orders', namespace: 'team-a', entities: ['counter'] });
      const b1 = await placement.sidecar({ name: '10.6.1.1:50002', id: 'orders', namespace: 'team-b', entities: ['counter'] });
      // (b1 is ready at once with the one-shot empty table; wait until it holds its own round's table.)
      await waitFor(() => a1.hostsOf('counter').length === 2 && sameVersion([a1, a2]) && b1.hostsOf('counter').length === 1 && b1.readyVersion, {
        what: 'both namespaces',
      });
      expect(a1.hostsOf('counter')).toEqual(['10.6.0.1:50002', '10.6.0.2:50002']);
      expect(b1.hostsOf('counter')).toEqual(['10.6.1.1:50002']);
      const state = await fetch(`http://127.0.0.1:${placement.service.health.port}/placement/state`).then((r) => r.json() as Promise<{ tables: Record<string, { hosts: Array<{ name: string; namespace: string; api_level: number }>; version: number }> }>);
      expect(state.tables['team-a']!.hosts.map((h) => h.name)).toEqual(['10.6.0.1:50002', '10.6.0.2:50002']);
      expect(state.tables['team-b']!.hosts).toEqual([
        { name: '10.6.1.1:50002', entities: ['counter'], id: 'orders', api_level: 20, namespace: 'team-b', operation: 1 },
      ]);
      expect(state.tables['team-b']!.version).toBe(b1.readyVersion);
    });
  });

  describe('the health and metrics endpoints', () => {
    it('report healthy and name this node the leader', async () => {
      const health = await fetch(`http://127.0.0.1:${placement.service.health.port}/healthz`);
      expect(health.status).toBe(200);
      const metrics = await fetch(`http://127.0.0.1:${placement.service.metricsServer!.port}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/^dapr_placement_leader_status 1$/m);
      expect(metrics).toMatch(/^dapr_placement_raft_leader_status 1$/m);
      expect(metrics).toMatch(/^dapr_placement_runtimes_total\{host_namespace="join"\} 3$/m);
      expect(metrics).toMatch(/^dapr_placement_dissemination_duration_seconds_count\{host_namespace="join"\} [1-9]/m);
      // Orders went out as frames encoded once per round (the grpc-js fast path is in place).
      expect(placement.logs.matching(/does not let placement send pre-framed orders/)).toEqual([]);
    });
  });
});

describe('placement with --table-host-fields=routing', () => {
  let placement: RunningPlacement;

  beforeAll(async () => {
    placement = await startPlacement(['--table-host-fields=routing', '--dissemination-batch-quiet-period=100ms', '--dissemination-batch-max-delay=500ms', '--settle-quiet-period=100ms']);
  });
  afterAll(async () => {
    await placement.stop();
  });

  it('sends hosts with only name and app ID, and sidecars place every actor as with full tables', async () => {
    const ns = 'routing';
    const hosts = await Promise.all(
      [1, 2, 3].map((i) => placement.sidecar({ name: `10.4.0.${i}:50002`, id: `app-${i}`, namespace: ns, entities: ['counter', 'timer'] })),
    );
    await waitFor(() => (hosts.every((h) => h.hostsOf('timer').length === 3) ? sameVersion(hosts) : undefined), { what: 'three hosts holding a three-host table' });
    for (const sidecar of hosts) {
      expect(sidecar.table?.entries['counter']?.['10.4.0.2:50002']).toEqual({ name: '10.4.0.2:50002', id: 'app-2', namespace: '', entities: [] });
    }
    const ring = HashRing.build(hosts.map((h) => [h.options.name, h.options.name] as const), { replicationFactor: 100 });
    for (let n = 0; n < 200; n++) {
      const expected = ring.lookup(`actor-${n}`);
      for (const sidecar of hosts) expect(sidecar.owner('timer', `actor-${n}`)).toBe(expected);
    }
    // The debug endpoint still shows each host's whole report.
    const state = (await fetch(`http://127.0.0.1:${placement.service.health.port}/placement/state`).then((r) => r.json())) as {
      tables: Record<string, { hosts: Array<{ name: string; entities: string[] }> }>;
    };
    expect(state.tables[ns]!.hosts.map((h) => h.entities)).toEqual([['counter', 'timer'], ['counter', 'timer'], ['counter', 'timer']]);
  });
});
