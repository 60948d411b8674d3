import { silentLogger } from '@tapr/lib';
import { PlacementCore } from './core.js';
import { FakeStream, ManualTimers, RecordingObserver, ack, fakeCodec, report } from './fakes.js';
import type { HostReport } from './host.js';
import type { BatchOptions } from './disseminator.js';

interface HarnessOptions {
  batch?: BatchOptions;
  timeoutMs?: number;
  /** Leadership: `{}` releases at once; undefined = no record (quiet rule); 'none' = not leader yet. */
  expected?: Record<string, number> | 'no-record' | 'none';
}

function harness(options: HarnessOptions = {}) {
  const timers = new ManualTimers();
  const observer = new RecordingObserver();
  const core = new PlacementCore({
    disseminateTimeoutMs: options.timeoutMs ?? 8000,
    batch: options.batch ?? { quietMs: 0, maxDelayMs: 0 },
    settle: { quietMs: 1000, maxMs: 5000 },
    codec: fakeCodec,
    timers,
    observer,
    logger: silentLogger(),
  });
  timers.target = (event) => core.enqueue(event);
  if (options.expected !== 'none') {
    core.enqueue({ kind: 'leadershipGained', expected: options.expected === 'no-record' ? undefined : (options.expected ?? {}) });
  }
  let nextId = 1;
  const open = (host: HostReport) => {
    const stream = new FakeStream(nextId++);
    core.enqueue({ kind: 'streamOpened', stream, host });
    return stream;
  };
  const send = (stream: FakeStream, host: HostReport, namespace = 'default') =>
    core.enqueue({ kind: 'hostReported', streamId: stream.id, namespace, host });
  const close = (stream: FakeStream, namespace = 'default') => core.enqueue({ kind: 'streamClosed', streamId: stream.id, namespace });
  const ackAll = (streams: FakeStream[], operation: 'lock' | 'update' | 'unlock', version: number, namespace = 'default') => {
    for (const stream of streams) send(stream, ack(operation, version, { namespace }), namespace);
  };
  /** Plays the sidecar side of a whole round. */
  const completeRound = (streams: FakeStream[], version: number, namespace = 'default') => {
    ackAll(streams, 'lock', version, namespace);
    ackAll(streams, 'update', version, namespace);
    ackAll(streams, 'unlock', version, namespace);
  };
  return { core, timers, observer, open, send, close, ackAll, completeRound };
}

describe('PlacementCore', () => {
  describe('when a host with actor types joins an idle namespace (no batching)', () => {
    it('runs lock → update → unlock at version 1, moving on only when every stream has acked', () => {
      const h = harness();
      const a = h.open(report('10.0.0.1:50002', ['counter']));
      expect(a.take()).toEqual([{ operation: 'lock', version: 1 }]);
      h.ackAll([a], 'lock', 1);
      expect(a.take()).toEqual([{ operation: 'update', version: 1, hosts: ['10.0.0.1:50002'] }]);
      h.ackAll([a], 'update', 1);
      expect(a.take()).toEqual([{ operation: 'unlock', version: 1 }]);
      h.ackAll([a], 'unlock', 1);
      expect(h.core.namespace('default')?.phase).toBe('idle');
      expect(h.observer.completed.map((c) => c.version)).toEqual([1]);

      const b = h.open(report('10.0.0.2:50002', ['counter']));
      expect(a.take()).toEqual([{ operation: 'lock', version: 2 }]);
      expect(b.take()).toEqual([{ operation: 'lock', version: 2 }]);
      h.ackAll([a], 'lock', 2);
      expect(a.take()).toEqual([]);
      h.ackAll([b], 'lock', 2);
      expect(a.take()).toEqual([{ operation: 'update', version: 2, hosts: ['10.0.0.1:50002', '10.0.0.2:50002'] }]);
      expect(b.take()).toEqual([{ operation: 'update', version: 2, hosts: ['10.0.0.1:50002', '10.0.0.2:50002'] }]);
    });
  });

  describe('when a host without actor types joins', () => {
    it('sends it alone the current table one-shot at version 0 and ignores its acks', () => {
      const h = harness();
      const consumer = h.open(report('10.0.0.9:50002', []));
      expect(consumer.take()).toEqual([
        { operation: 'lock', version: 0 },
        { operation: 'update', version: 0, hosts: [] },
        { operation: 'unlock', version: 0 },
      ]);
      h.completeRound([consumer], 0);
      expect(h.observer.rounds).toEqual([]);
    });

    it('gives it the table the actor hosts hold, at their version', () => {
      const h = harness();
      const a = h.open(report('10.0.0.1:50002', ['counter']));
      h.completeRound([a], 1);
      a.take();
      const consumer = h.open(report('10.0.0.9:50002', []));
      expect(consumer.take()).toEqual([
        { operation: 'lock', version: 1 },
        { operation: 'update', version: 1, hosts: ['10.0.0.1:50002'] },
        { operation: 'unlock', version: 1 },
      ]);
      expect(a.take()).toEqual([]);
    });
  });

  describe('when changes are batched (quiet 250 ms, at most 2 s)', () => {
    const batch = { quietMs: 250, maxDelayMs: 2000 };

    it('collects joins that arrive close together into one round, and readies each joiner at once', () => {
      const h = harness({ batch });
      const streams: FakeStream[] = [];
      for (let i = 1; i <= 10; i++) {
        streams.push(h.open(report(`10.0.0.${i}:50002`, ['counter'])));
        // Each joiner gets the current (empty) table immediately, so its sidecar turns ready.
        expect(streams.at(-1)!.take().map((o) => `${o.operation}@${o.version}`)).toEqual(['lock@0', 'update@0', 'unlock@0']);
        h.timers.advance(100);
      }
      expect(h.observer.rounds).toEqual([]);
      h.timers.advance(150);
      expect(h.observer.rounds).toEqual([{ namespace: 'default', version: 1, cause: 'change' }]);
      h.completeRound(streams, 1);
      expect(streams[0]!.take()).toEqual([
        { operation: 'lock', version: 1 },
        { operation: 'update', version: 1, hosts: streams.map((_, i) => `10.0.0.${i + 1}:50002`).sort() },
        { operation: 'unlock', version: 1 },
      ]);
    });

    it('starts the round after the maximum delay even while changes keep coming', () => {
      const h = harness({ batch });
      for (let i = 1; i <= 30; i++) {
        h.open(report(`10.0.0.${i}:50002`, ['counter']));
        h.timers.advance(100);
        if (i < 20) expect(h.observer.rounds).toEqual([]);
      }
      expect(h.observer.rounds[0]).toEqual({ namespace: 'default', version: 1, cause: 'change' });
    });

    it('turns a rolling restart of 100 hosts into a handful of rounds', () => {
      const h = harness({ batch });
      const hosts = Array.from({ length: 100 }, (_, i) => h.open(report(`10.0.1.${i}:50002`, ['counter'])));
      h.timers.advance(250);
      // The sidecars answer each order as it arrives (as daprd does).
      const live = new Set(hosts);
      const answer = () => {
        for (let pass = 0; pass < 4; pass++) {
          for (const stream of live) {
            for (const order of stream.take()) h.send(stream, ack(order.operation, order.version));
          }
        }
      };
      answer();
      const roundsBefore = h.observer.rounds.length;
      // Every 20 ms one pod stops and its replacement connects 10 ms later.
      for (let i = 0; i < 100; i++) {
        h.close(hosts[i]!);
        live.delete(hosts[i]!);
        h.timers.advance(10);
        live.add(h.open(report(`10.0.2.${i}:50002`, ['counter'])));
        h.timers.advance(10);
        answer();
      }
      h.timers.advance(2000);
      answer();
      const rounds = h.observer.rounds.length - roundsBefore;
      expect(rounds).toBeGreaterThan(0);
      expect(rounds).toBeLessThanOrEqual(5);
      const final = h.core.state()['default']!;
      expect(final.hosts.map((x) => x.name).every((n) => n.startsWith('10.0.2.'))).toBe(true);
      expect(final.hosts).toHaveLength(100);
    });
  });

  describe('when a report changes mid-round', () => {
    it('restarts the round at the next version with a lock to every stream', () => {
      const h = harness();
      const a = h.open(report('10.0.0.1:50002', ['counter']));
      h.completeRound([a], 1);
      const b = h.open(report('10.0.0.2:50002', ['counter']));
      h.ackAll([a, b], 'lock', 2);
      a.take();
      b.take();
      h.send(a, report('10.0.0.1:50002', ['counter', 'timer']));
      expect(a.take()).toEqual([{ operation: 'lock', version: 3 }]);
      expect(b.take()).toEqual([{ operation: 'lock', version: 3 }]);
      expect(h.observer.rounds.at(-1)).toEqual({ namespace: 'default', version: 3, cause: 'restart' });
      // Late acks for version 2 no longer count.
      h.ackAll([a, b], 'update', 2);
      expect(a.take()).toEqual([]);
    });
  });

  describe('when a stream opens mid-round', () => {
    it('waits for the round to end, then joins in a new round', () => {
      const h = harness();
      const a = h.open(report('10.0.0.1:50002', ['counter']));
      const b = h.open(report('10.0.0.2:50002', ['counter'])); // arrives during round 1
      expect(b.take()).toEqual([]);
      h.completeRound([a], 1);
      expect(b.take()).toEqual([{ operation: 'lock', version: 2 }]);
      expect(a.take().at(-1)).toEqual({ operation: 'lock', version: 2 });
    });
  });

  describe('when a stream closes mid-round', () => {
    it('lets the round complete without it, then removes its host in the next round', () => {
      const h = harness();
      const a = h.open(report('10.0.0.1:50002', ['counter']));
      h.completeRound([a], 1);
      const b = h.open(report('10.0.0.2:50002', ['counter']));
      h.ackAll([a], 'lock', 2);
      h.close(b);
      h.ackAll([a], 'update', 2);
      h.ackAll([a], 'unlock', 2);
      // Version 2 still carries the host that left (it was locked with it); version 3 removes it.
      expect(a.take().slice(-3)).toEqual([
        { operation: 'update', version: 2, hosts: ['10.0.0.1:50002', '10.0.0.2:50002'] },
        { operation: 'unlock', version: 2 },
        { operation: 'lock', version: 3 },
      ]);
      h.completeRound([a], 3);
      expect(a.take().find((o) => o.operation === 'update')).toEqual({ operation: 'update', version: 3, hosts: ['10.0.0.1:50002'] });
    });

    it('sends nothing when the last stream of the namespace leaves, and forgets the namespace', () => {
      const h = harness();
      const a = h.open(report('10.0.0.1:50002', ['counter']));
      h.completeRound([a], 1);
      a.take();
      h.close(a);
      expect(a.take()).toEqual([]);
      expect(h.core.state()).toEqual({});
      expect(h.observer.counts.get('default')).toEqual({ streams: 0, actorHosts: 0, actorTypes: 0 });
    });
  });

  describe('when a stream does not acknowledge in time', () => {
    it('closes it with DeadlineExceeded and starts a new round with the others', () => {
      const h = harness({ timeoutMs: 8000 });
      const a = h.open(report('10.0.0.1:50002', ['counter']));
      h.completeRound([a], 1);
      const slow = h.open(report('10.0.0.2:50002', ['counter']));
      h.ackAll([a], 'lock', 2);
      a.take();
      h.timers.advance(8000);
      expect(slow.closedWith?.code).toBe('deadline-exceeded');
      expect(slow.closedWith?.message).toBe('dissemination timeout after 8s for version 2');
      expect(a.closedWith).toBeUndefined();
      expect(a.take()).toEqual([{ operation: 'lock', version: 3 }]);
      h.completeRound([a], 3);
      expect(a.take().find((o) => o.operation === 'update')?.hosts).toEqual(['10.0.0.1:50002']);
      expect(h.observer.dropped).toEqual([{ namespace: 'default', reason: 'deadline-exceeded' }]);
    });
  });

  describe('when acknowledgements are stale or out of phase', () => {
    it('ignores acks for older versions and for another phase', () => {
      const h = harness();
      const a = h.open(report('10.0.0.1:50002', ['counter']));
      const b = h.open(report('10.0.0.2:50002', ['counter']));
      h.completeRound([a], 1);
      h.completeRound([a, b], 2);
      a.take();
      h.send(b, report('10.0.0.2:50002', ['timer']));
      h.ackAll([a, b], 'lock', 2); // old version
      h.ackAll([a, b], 'update', 3); // wrong phase
      expect(a.take()).toEqual([{ operation: 'lock', version: 3 }]);
      h.ackAll([a, b], 'lock', 3);
      expect(a.take()).toEqual([{ operation: 'update', version: 3, hosts: ['10.0.0.1:50002', '10.0.0.2:50002'] }]);
    });
  });

  describe('when two apps claim the same host name', () => {
    it('refuses the second with already-exists and keeps the first', () => {
      const h = harness();
      const a = h.open(report('10.0.0.1:50002', ['counter'], { id: 'orders' }));
      h.completeRound([a], 1);
      const b = h.open(report('10.0.0.1:50002', ['counter'], { id: 'billing' }));
      expect(b.closedWith?.code).toBe('already-exists');
      expect(b.closedWith?.message).toMatch(/host name 10\.0\.0\.1:50002 is already registered by app orders in namespace default/);
      expect(a.closedWith).toBeUndefined();
      expect(h.core.state()['default']!.hosts.map((x) => x.id)).toEqual(['orders']);
    });

    it('lets a reconnecting stream of the same app replace its old stream', () => {
      const h = harness();
      const old = h.open(report('10.0.0.1:50002', ['counter']));
      h.completeRound([old], 1);
      const fresh = h.open(report('10.0.0.1:50002', ['counter']));
      expect(old.closedWith?.code).toBe('aborted');
      expect(fresh.closedWith).toBeUndefined();
      expect(h.observer.counts.get('default')).toMatchObject({ streams: 1, actorHosts: 1 });
    });
  });

  describe('when several namespaces are in use', () => {
    it('keeps tables and versions apart', () => {
      const h = harness();
      const a = h.open(report('10.0.0.1:50002', ['counter'], { namespace: 'team-a' }));
      const b = h.open(report('10.0.0.2:50002', ['counter'], { namespace: 'team-b' }));
      h.completeRound([a], 1, 'team-a');
      h.completeRound([b], 1, 'team-b');
      const c = h.open(report('10.0.0.3:50002', ['counter'], { namespace: 'team-a' }));
      h.completeRound([a, c], 2, 'team-a');
      expect(a.take().filter((o) => o.operation === 'update').map((o) => o.hosts)).toEqual([['10.0.0.1:50002'], ['10.0.0.1:50002', '10.0.0.3:50002']]);
      expect(b.take().filter((o) => o.operation === 'update').map((o) => o.hosts)).toEqual([['10.0.0.2:50002']]);
      expect(h.core.state()['team-a']!.version).toBe(2);
      expect(h.core.state()['team-b']!.version).toBe(1);
    });
  });

  describe('when a new leader waits for sidecars', () => {
    it('holds every round until the hosts the previous leader recorded are back', () => {
      const h = harness({ expected: { default: 3 } });
      const streams = [1, 2].map((i) => h.open(report(`10.0.0.${i}:50002`, ['counter'])));
      h.timers.advance(3000);
      expect(streams.flatMap((s) => s.take())).toEqual([]);
      streams.push(h.open(report('10.0.0.3:50002', ['counter'])));
      expect(h.core.settling).toBe(false);
      expect(streams.map((s) => s.take())).toEqual(streams.map(() => [{ operation: 'lock', version: 1 }]));
    });

    it('gives up waiting after the maximum time', () => {
      const h = harness({ expected: { default: 3 } });
      const a = h.open(report('10.0.0.1:50002', ['counter']));
      h.timers.advance(4999);
      expect(a.take()).toEqual([]);
      h.timers.advance(1);
      expect(a.take()).toEqual([{ operation: 'lock', version: 1 }]);
    });

    it('without a record, waits until no new stream has come for the quiet period', () => {
      const h = harness({ expected: 'no-record' });
      const a = h.open(report('10.0.0.1:50002', ['counter']));
      h.timers.advance(600);
      const consumer = h.open(report('10.0.0.9:50002', []));
      h.timers.advance(900);
      expect(a.take()).toEqual([]);
      expect(consumer.take()).toEqual([]);
      h.timers.advance(100);
      expect(a.take()).toEqual([{ operation: 'lock', version: 1 }]);
      expect(consumer.take()).toEqual([{ operation: 'lock', version: 1 }]);
    });
  });

  describe('when shutting down', () => {
    it('closes every stream with the reason given', async () => {
      const h = harness();
      const a = h.open(report('10.0.0.1:50002', ['counter']));
      const { PlacementError } = await import('./errors.js');
      h.core.enqueue({ kind: 'shutdown', reason: new PlacementError('unavailable', 'placement server is shutting down') });
      expect(a.closedWith?.code).toBe('unavailable');
      expect(h.core.state()).toEqual({});
    });
  });

  describe('actorHostCounts', () => {
    it('counts the connected actor hosts per namespace, for the next leader', () => {
      const h = harness();
      h.open(report('10.0.0.1:50002', ['counter']));
      h.open(report('10.0.0.2:50002', [], {}));
      h.open(report('10.0.0.3:50002', ['counter'], { namespace: 'other' }));
      expect(h.core.actorHostCounts()).toEqual({ default: 1, other: 1 });
    });
  });
});
