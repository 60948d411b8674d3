import { silentLogger } from '@tapr/lib';
import { waitFor } from '@tapr/lib/testing';
import { LeaseLeadership } from './leaseLeadership.js';
import { LostLeadershipError } from './leadership.js';
import { FakeLeaseStore } from './fakeLeaseStore.js';
import type { LeaseRecord } from './lease.js';

function setup(store = new FakeLeaseStore()) {
  let now = 1_000_000;
  const elected: Array<Record<string, number> | undefined> = [];
  let counts: Record<string, number> = { default: 2 };
  const leadership = new LeaseLeadership({
    store,
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
    store,
    elected,
    run,
    stop: () => controller.abort(),
    advance: (ms: number) => (now += ms),
    setCounts: (next: Record<string, number>) => (counts = next),
    now: () => now,
  };
}

const held = (holder: string, renewTime: number, actorHosts?: Record<string, number>): LeaseRecord => ({
  holder,
  durationSeconds: 4,
  acquireTime: new Date(renewTime),
  renewTime: new Date(renewTime),
  transitions: 3,
  ...(actorHosts ? { actorHosts } : {}),
});

describe('LeaseLeadership', () => {
  describe('when no Lease exists', () => {
    it('creates it and leads, with no record of a previous membership', async () => {
      const t = setup();
      await waitFor(() => t.elected.length === 1, { what: 'election' });
      expect(t.elected).toEqual([undefined]);
      expect(t.store.current).toMatchObject({ holder: 'p1', durationSeconds: 4, transitions: 0 });
      t.stop();
      await t.run;
    });
  });

  describe('when another instance holds the Lease', () => {
    it('waits while it renews, then takes over once it has not renewed for the lease duration', async () => {
      const store = new FakeLeaseStore();
      store.force(held('p2', 0, { default: 7 }));
      const t = setup(store);
      await new Promise((resolve) => setTimeout(resolve, 30));
      t.advance(3000);
      store.force(held('p2', t.now(), { default: 7 })); // p2 renews
      await new Promise((resolve) => setTimeout(resolve, 30));
      t.advance(3999);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(t.elected).toEqual([]);
      t.advance(1);
      await waitFor(() => t.elected.length === 1, { what: 'take-over' });
      expect(t.elected).toEqual([{ default: 7 }]);
      expect(store.current).toMatchObject({ holder: 'p1', transitions: 4 });
      t.stop();
      await t.run;
    });

    it('takes a released Lease at once', async () => {
      const store = new FakeLeaseStore();
      store.force({ ...held('', 0, { default: 3 }), durationSeconds: 1 });
      const t = setup(store);
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
      await waitFor(() => t.store.current?.actorHosts?.['other'] === 1, { what: 'a renewal with the counts' });
      t.stop();
      await t.run;
      expect(t.store.current).toMatchObject({ holder: '', durationSeconds: 1, actorHosts: { default: 5, other: 1 } });
    });

    it('gives up with LostLeadershipError when another instance has taken the Lease', async () => {
      const t = setup();
      await waitFor(() => t.elected.length === 1, { what: 'election' });
      t.store.force(held('p2', t.now()));
      await expect(t.run).rejects.toThrow(LostLeadershipError);
      await expect(t.run).rejects.toThrow('lost leadership: the lease is now held by p2');
    });

    it('gives up with LostLeadershipError when it cannot renew before the deadline', async () => {
      const t = setup();
      await waitFor(() => t.elected.length === 1, { what: 'election' });
      t.store.failWith = new Error('connection refused');
      t.advance(61);
      await expect(t.run).rejects.toThrow('lost leadership: the lease was not renewed for 60 ms');
    });
  });
});
