// Leader election with a Kubernetes Lease (tapr's replacement for Dapr's Raft election, spec §3.6): the
// algorithm of client-go's leaderelection, written small. A follower polls the Lease every `retryPeriodMs` and
// takes it when it is released, held by itself (restarted pod), or not renewed for `leaseDurationMs` as seen on
// its own clock (no clock-skew assumptions). The leader renews every `retryPeriodMs`; if it cannot renew for
// `renewDeadlineMs` (or someone else holds the Lease) it gives up: LostLeadershipError stops the process, as
// Dapr's placement exits on "lost leadership". On shutdown the leader releases the Lease, so a follower takes
// over within one retry period instead of waiting for expiry.
// Every renewal also records the actor hosts per namespace; the next leader waits for that many (settle.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, type Logger } from '@tapr/lib/logger';
import { LostLeadershipError, type Leadership, type LeadershipEvents } from './leadership.js';
import { LeaseConflictError, type LeaseRecord, type LeaseStore, type StoredLease } from './lease.js';

export const defaultLeaseName = 'dapr-placement-leader';

export interface LeaseLeadershipOptions {
  store: LeaseStore;
  /** Holder identity: the placement `--id` (the pod name in Helm's HA setup). */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  logger: Logger;
  now?: () => number;
}

export class LeaseLeadership implements Leadership {
  readonly #now: () => number;

  constructor(private readonly options: LeaseLeadershipOptions) {
    this.#now = options.now ?? Date.now;
  }

  async run(signal: AbortSignal, events: LeadershipEvents): Promise<void> {
    const { logger, identity, store } = this.options;
    logger.info('waiting for leadership', { identity, lease: store.description });
    const acquired = await this.#acquire(signal);
    if (!acquired) return;
    logger.info('acquired leadership', { identity, lease: store.description, previousActorHosts: acquired.expected ?? 'none recorded' });
    events.elected(acquired.expected);
    await this.#lead(signal, acquired.lease, events);
  }

  async #acquire(signal: AbortSignal): Promise<{ lease: StoredLease; expected?: Record<string, number> } | undefined> {
    const { store, identity, logger } = this.options;
    let observed: { key: string; at: number } | undefined;
    while (!signal.aborted) {
      try {
        const current = await this.#call(store.get());
        const now = this.#now();
        if (!current) {
          return { lease: await this.#call(store.create(this.#record(now, now, 0, undefined))) };
        }
        const { record } = current;
        // Expiry is judged from when *we* saw the record change, like client-go, so clocks need not agree.
        const key = `${record.holder}|${record.renewTime.getTime()}|${current.revision}`;
        if (observed?.key !== key) observed = { key, at: now };
        const expired = now >= observed.at + record.durationSeconds * 1000;
        if (record.holder === '' || record.holder === identity || expired) {
          const transitions = record.holder === identity ? record.transitions : record.transitions + 1;
          const lease = await this.#call(store.update(this.#record(now, now, transitions, record.actorHosts), current.revision));
          if (record.holder && record.holder !== identity) logger.info('took over an expired lease', { previousHolder: record.holder });
          return { lease, expected: record.actorHosts };
        }
        logger.debug('the lease is held by another instance', { holder: record.holder });
      } catch (error) {
        if (error instanceof LeaseConflictError) logger.debug('lost a race for the lease; retrying', { error });
        else logger.warn('cannot read or take the lease; retrying', { error: describeError(error) });
      }
      await sleep(this.options.retryPeriodMs, undefined, { signal }).catch(() => undefined);
    }
    return undefined;
  }

  async #lead(signal: AbortSignal, acquired: StoredLease, events: LeadershipEvents): Promise<void> {
    const { store, identity, logger, renewDeadlineMs } = this.options;
    let lease = acquired;
    let renewedAt = this.#now();
    for (;;) {
      await sleep(this.options.retryPeriodMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return this.#release(lease);
      const now = this.#now();
      try {
        lease = await this.#call(
          store.update({ ...lease.record, holder: identity, renewTime: new Date(now), actorHosts: events.record() }, lease.revision),
        );
        renewedAt = now;
        continue;
      } catch (error) {
        if (error instanceof LeaseConflictError) {
          const latest = await this.#call(store.get()).catch(() => undefined);
          if (latest && latest.record.holder !== identity) {
            throw new LostLeadershipError(`the lease is now held by ${latest.record.holder || 'nobody'}`, { cause: error });
          }
          if (latest) lease = latest;
        } else {
          logger.warn('cannot renew the lease; retrying', { error: describeError(error) });
        }
        if (this.#now() - renewedAt >= renewDeadlineMs) {
          throw new LostLeadershipError(`the lease was not renewed for ${renewDeadlineMs} ms`, { cause: error });
        }
      }
    }
  }

  /** Steps down: an empty holder lets a follower take over at its next poll. Keeps the last actor-host record. */
  async #release(lease: StoredLease): Promise<void> {
    const now = this.#now();
    try {
      await this.#call(this.options.store.update({ ...lease.record, holder: '', durationSeconds: 1, renewTime: new Date(now) }, lease.revision));
      this.options.logger.info('released leadership', { lease: this.options.store.description });
    } catch (error) {
      this.options.logger.warn('could not release the lease; followers take over when it expires', { error: describeError(error) });
    }
  }

  #record(acquiredAt: number, renewedAt: number, transitions: number, actorHosts: Record<string, number> | undefined): LeaseRecord {
    return {
      holder: this.options.identity,
      durationSeconds: Math.max(1, Math.ceil(this.options.leaseDurationMs / 1000)),
      acquireTime: new Date(acquiredAt),
      renewTime: new Date(renewedAt),
      transitions,
      ...(actorHosts ? { actorHosts } : {}),
    };
  }

  /** API calls may not hang past the renew deadline: a stuck call must not keep a leader that cannot renew. */
  #call<T>(promise: Promise<T>): Promise<T> {
    const limit = this.options.renewDeadlineMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Kubernetes API call took longer than ${limit} ms`)), limit);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}
