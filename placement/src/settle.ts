// How long a new leader waits before its first dissemination. Placement keeps no state across leaders: the new
// leader learns membership only from sidecars reconnecting, and they come back one by one (each notices the old
// stream break, then cycles through the placement addresses until it reaches the leader). Disseminating at the
// first report would hand every sidecar a partial table — actors would move onto the few hosts already back,
// then move again. So the leader holds all rounds until:
//   - every namespace has as many actor hosts as the previous leader last recorded on the Lease, or
//   - with no record (first start, self-hosted), no new stream has arrived for `quietMs`, or
//   - `maxMs` has passed (hosts that died meanwhile never come back).

export interface SettleOptions {
  quietMs: number;
  maxMs: number;
}

export type SettleDecision = { release: true; reason: string } | { release: false; recheckInMs: number };

export class SettlePolicy {
  readonly #since: number;
  #lastStreamAt: number;

  constructor(
    private readonly options: SettleOptions,
    now: number,
    private readonly expected: Readonly<Record<string, number>> | undefined,
  ) {
    this.#since = now;
    this.#lastStreamAt = now;
  }

  streamOpened(now: number): void {
    this.#lastStreamAt = now;
  }

  /** `actorHosts(namespace)`: the actor hosts connected now in that namespace. */
  decide(now: number, actorHosts: (namespace: string) => number): SettleDecision {
    const deadline = this.#since + this.options.maxMs;
    if (now >= deadline) return { release: true, reason: `waited the maximum of ${this.options.maxMs} ms` };
    if (this.expected) {
      const missing = Object.entries(this.expected).filter(([namespace, count]) => actorHosts(namespace) < count);
      if (missing.length === 0) return { release: true, reason: 'every actor host the previous leader had has reconnected' };
      return { release: false, recheckInMs: deadline - now };
    }
    const quietAt = this.#lastStreamAt + this.options.quietMs;
    if (now >= quietAt) return { release: true, reason: `no new stream for ${this.options.quietMs} ms` };
    return { release: false, recheckInMs: Math.min(quietAt, deadline) - now };
  }
}
