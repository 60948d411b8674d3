import { silentLogger } from '@tapr/lib/logger';
import { KubeApiError, type KubeHttp, type RequestOptions } from '@tapr/lib/kube/kubeHttp';
import type { LeaseSpec } from '@tapr/lib/kube/leaderElection';
import { waitFor } from '@tapr/lib/testing';
import { LeaseLeadership, actorHostsAnnotation, parseActorHosts } from './leaseLeadership.js';
import { LostLeadershipError } from './leadership.js';

interface StoredLease {
  metadata: { name: string; namespace: string; resourceVersion: string; annotations?: Record<string, string> };
  spec: LeaseSpec;
}

/** The Lease endpoint of an API server, in memory, with resourceVersion conflicts. */
class FakeLeases {
  lease: StoredLease | undefined;
  #version = 0;
  /** When set, every call fails with this error (an unreachable API server). */
  failWith: Error | undefined;

  readonly http = {
    request: async (method: string, _path: string, options: RequestOptions = {}) => {
      if (this.failWith) throw this.failWith;
      if (method === 'GET') {
        if (!this.lease) throw new KubeApiError(404, 'NotFound', 'leases "dapr-placement-leader" not found');
        return structuredClone(this.lease);
      }
      const body = options.body as StoredLease;
      if (method === 'POST' && this.lease) throw new KubeApiError(409, 'AlreadyExists', 'exists');
      if (method === 'PUT' && body.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) {
        throw new KubeApiError(409, 'Conflict', 'the object has been modified');
      }
      this.#store(body.metadata, body.spec);
      return structuredClone(this.lease);
    },
  } as unknown as KubeHttp;

  /** Another instance writes the Lease. */
  force(spec: LeaseSpec, annotations?: Record<string, string>): void {
    this.#store({ name: 'dapr-placement-leader', namespace: 'dapr-system', ...(annotations ? { annotations } : {}) }, spec);
  }

  #store(metadata: Omit<StoredLease['metadata'], 'resourceVersion'>, spec: LeaseSpec): void {
    this.lease = structuredClone({ metadata: { ...metadata, resourceVersion: String(++this.#version) }, spec });
  }
}

function setup(leases = new FakeLeases()) {
  let now = 1_000_000;
  const elected: Array<Record<string, number> | undefined> = [];
  let counts: Record<string, number> = { default: 2 };
  const leadership = new LeaseLeadership({
    http: leases.http,
    namespace: 'dapr-system',
    identity: 'p1',
    leaseDurationMs: 4000,
    renewDeadlineMs: 60,
    retryPeriodMs: 5,
    logger: silentLogger(),
    now: () => now,
  });
  const controller = new AbortController();
  const run = leadership.run(controller.signal, { elected: (expected) => elected.push(expected), record: () => counts });
  run.catch(() => undefined);
  return {
    leases,
    elected,
    run,
    stop: () => controller.abort(),
    advance: (ms: number) => (now += ms),
    setCounts: (next: Record<string, number>) => (counts = next),
    now: () => now,
  };
}

const held = (holder: string, renewTime: number): LeaseSpec => ({
  holderIdentity: holder,
  leaseDurationSeconds: 4,
  acquireTime: new Date(renewTime).toISOString(),
  renewTime: new Date(renewTime).toISOString(),
  leaseTransitions: 3,
});
const record = (counts: Record<string, number>) => ({ [actorHostsAnnotation]: JSON.stringify(counts) });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LeaseLeadership', () => {
  describe('when no Lease exists', () => {
    it('creates it and leads, with no record of a previous membership', async () => {
      const t = setup();
      await waitFor(() => t.elected.length === 1, { what: 'election' });
      expect(t.elected).toEqual([undefined]);
      expect(t.leases.lease?.spec).toMatchObject({ holderIdentity: 'p1', leaseDurationSeconds: 4, leaseTransitions: 0 });
      t.stop();
      await t.run;
    });
  });

  describe('when another instance holds the Lease', () => {
    it('waits while it renews, then takes over once it has not renewed for the lease duration', async () => {
      const leases = new FakeLeases();
      leases.force(held('p2', 0), record({ default: 7 }));
      const t = setup(leases);
      await pause(30);
      t.advance(3000);
      leases.force(held('p2', t.now()), record({ default: 7 })); // p2 renews
      await pause(30);
      t.advance(3999);
      await pause(30);
      expect(t.elected).toEqual([]);
      t.advance(1);
      await waitFor(() => t.elected.length === 1, { what: 'take-over' });
      expect(t.elected).toEqual([{ default: 7 }]);
      expect(leases.lease?.spec).toMatchObject({ holderIdentity: 'p1', leaseTransitions: 4 });
      t.stop();
      await t.run;
    });

    it('takes a released Lease at once', async () => {
      const leases = new FakeLeases();
      leases.force({ ...held('', 0), holderIdentity: undefined, leaseDurationSeconds: 1 }, record({ default: 3 }));
      const t = setup(leases);
      await waitFor(() => t.elected.length === 1, { what: 'take-over' });
      expect(t.elected).toEqual([{ default: 3 }]);
      t.stop();
      await t.run;
    });
  });

  describe('while leading', () => {
    it('renews with the current actor-host counts and releases on shutdown, keeping the last record', async () => {
      const t = setup();
      await waitFor(() => t.elected.length === 1, { what: 'election' });
      t.setCounts({ default: 5, other: 1 });
      await waitFor(() => t.leases.lease?.metadata.annotations?.[actorHostsAnnotation] === JSON.stringify({ default: 5, other: 1 }), {
        what: 'a renewal with the counts',
      });
      t.stop();
      await t.run;
      expect(t.leases.lease?.spec.holderIdentity ?? '').toBe('');
      expect(t.leases.lease?.spec.leaseDurationSeconds).toBe(1);
      expect(parseActorHosts(t.leases.lease?.metadata.annotations?.[actorHostsAnnotation])).toEqual({ default: 5, other: 1 });
    });

    it('gives up with LostLeadershipError when another instance has taken the Lease', async () => {
      const t = setup();
      await waitFor(() => t.elected.length === 1, { what: 'election' });
      t.leases.force(held('p2', t.now()));
      await expect(t.run).rejects.toThrow(LostLeadershipError);
      await expect(t.run).rejects.toThrow('lost leadership: the Lease dapr-system/dapr-placement-leader could not be renewed or is held by another replica');
      expect(t.leases.lease?.spec.holderIdentity).toBe('p2');
    });

    it('gives up with LostLeadershipError when it cannot renew before the deadline', async () => {
      const t = setup();
      await waitFor(() => t.elected.length === 1, { what: 'election' });
      t.leases.failWith = new Error('connection refused');
      t.advance(61);
      await expect(t.run).rejects.toThrow(LostLeadershipError);
    });
  });
});

describe('parseActorHosts', () => {
  it.each([
    ['{"default":3,"other":0}', { default: 3, other: 0 }],
    [undefined, undefined],
    ['not json', undefined],
    ['[1,2]', undefined],
    ['{"default":-1}', undefined],
    ['{"default":1.5}', undefined],
  ])('reads %j as %j', (text, expected) => {
    expect(parseActorHosts(text)).toEqual(expected);
  });
});
