// Hand-written fakes of the core's boundaries, for unit tests: a manual clock, streams that record what they
// are sent, and a codec whose "encoded" update is simply the list of host names.
import type { EncodedOrder, PlacementEvent, StreamPort, Timers } from './events.js';
import type { DisseminatorObserver, OrderCodec } from './disseminator.js';
import { HostOperation, type HostReport } from './host.js';
import type { PlacementError } from './errors.js';

export class ManualTimers implements Timers {
  #now = 0;
  #next = 0;
  readonly #scheduled = new Map<number, { at: number; event: PlacementEvent }>();
  /** Where fired events go (set after the core is built). */
  target: (event: PlacementEvent) => void = () => undefined;

  now(): number {
    return this.#now;
  }

  after(ms: number, event: PlacementEvent): () => void {
    const id = this.#next++;
    this.#scheduled.set(id, { at: this.#now + ms, event });
    return () => this.#scheduled.delete(id);
  }

  /** Moves the clock forward, firing due events in time order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let first: [number, { at: number; event: PlacementEvent }] | undefined;
      for (const entry of this.#scheduled) if (entry[1].at <= end && (!first || entry[1].at < first[1].at)) first = entry;
      if (!first) break;
      this.#scheduled.delete(first[0]);
      this.#now = Math.max(this.#now, first[1].at);
      this.target(first[1].event);
    }
    this.#now = end;
  }

  get pending(): number {
    return this.#scheduled.size;
  }
}

export interface SentOrder {
  operation: EncodedOrder['operation'];
  version: number;
  /** For `update`: the host names in the table, sorted. */
  hosts?: string[];
}

export class FakeStream implements StreamPort {
  readonly sent: SentOrder[] = [];
  closedWith: PlacementError | undefined;
  constructor(
    readonly id: number,
    readonly peer = `10.0.0.${id}:40000`,
  ) {}

  send(order: EncodedOrder): void {
    this.sent.push({ operation: order.operation, version: order.version, ...(order.payload ? { hosts: order.payload as string[] } : {}) });
  }

  close(error: PlacementError): void {
    this.closedWith ??= error;
  }

  /** Orders sent since the last call. */
  take(): SentOrder[] {
    return this.sent.splice(0);
  }
}

export const fakeCodec: OrderCodec = {
  lock: (version) => ({ operation: 'lock', version, payload: undefined }),
  update: (version, hosts) => ({ operation: 'update', version, payload: hosts.map((h) => h.name).sort() }),
  unlock: (version) => ({ operation: 'unlock', version, payload: undefined }),
};

export class RecordingObserver implements DisseminatorObserver {
  readonly rounds: Array<{ namespace: string; version: number; cause: string }> = [];
  readonly completed: Array<{ namespace: string; version: number; durationMs: number; lockedMs: number }> = [];
  readonly dropped: Array<{ namespace: string; reason: string }> = [];
  readonly counts = new Map<string, { streams: number; actorHosts: number; actorTypes: number }>();

  membership(namespace: string, counts: { streams: number; actorHosts: number; actorTypes: number }): void {
    this.counts.set(namespace, counts);
  }
  roundStarted(namespace: string, version: number, cause: string): void {
    this.rounds.push({ namespace, version, cause });
  }
  roundCompleted(namespace: string, version: number, durationMs: number, lockedMs: number): void {
    this.completed.push({ namespace, version, durationMs, lockedMs });
  }
  streamDropped(namespace: string, reason: string): void {
    this.dropped.push({ namespace, reason });
  }
}

export function report(name: string, entities: string[], overrides: Partial<HostReport> = {}): HostReport {
  return {
    name,
    id: 'app',
    namespace: 'default',
    entities: [...entities].sort(),
    operation: HostOperation.report,
    port: 0,
    load: 0,
    pod: '',
    apiLevel: 20,
    ...overrides,
  };
}

export function ack(operation: 'lock' | 'update' | 'unlock', version: number, overrides: Partial<HostReport> = {}): HostReport {
  return {
    ...report('', [], overrides),
    operation: HostOperation[operation],
    version,
    ...overrides,
  };
}
