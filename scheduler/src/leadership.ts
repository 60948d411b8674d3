// How replicas share the job space without triggering a job twice (docs/scheduler-spec.md §7.1). Each replica
// holds a key `leadership/<id>` on its own lease, stating how many replicas it believes exist and where sidecars
// reach it. A replica owns partition <its rank among the keys> of <key count> only while every key states the same
// count. When the set of keys changes, each replica first stops (the caller drops its jobs) and only then writes
// the new count: so a new arrangement can only reach agreement after every old owner has stopped. A dead replica's
// key goes with its lease, after the lease TTL; a replica that stops cleanly revokes it at once.
import { randomUUID } from 'node:crypto';
import type { Lease, Namespace } from 'etcd3';
import { abortableDelay } from '@tapr/lib/delay';
import type { Logger } from '@tapr/lib/logger';

export const leadershipPrefix = 'leadership/';

/** An agreed arrangement: this replica owns jobs whose partition id mod `total` is `index`. */
export interface Epoch {
  index: number;
  total: number;
  /** Every replica's advertised address, in key order (WatchHosts). */
  hosts: string[];
}

export interface LeadershipEvents {
  /** Agreement reached (again): start owning the epoch's partition. */
  elected(epoch: Epoch): void;
  /** The arrangement is changing or this replica lost its lease: stop triggering at once. */
  stepDown(reason: string): void;
}

interface LeadershipRecord {
  total: number;
  uid: string;
  host: string;
}

export interface LeadershipOptions {
  kv: Namespace;
  id: string;
  host: string;
  ttlMs: number;
  logger: Logger;
}

export class Leadership {
  readonly #key: string;
  #epoch: Epoch | undefined;

  constructor(private readonly options: LeadershipOptions) {
    this.#key = leadershipPrefix + options.id;
  }

  get epoch(): Epoch | undefined {
    return this.#epoch;
  }

  async run(signal: AbortSignal, events: LeadershipEvents): Promise<void> {
    const { logger } = this.options;
    while (!signal.aborted) {
      try {
        await this.#term(signal, events);
      } catch (err) {
        if (signal.aborted) break;
        logger.warn('leadership lost; claiming again in 1s', { error: (err as Error).message });
        await abortableDelay(1000, signal);
      }
    }
  }

  /** One lease's lifetime: claim the key, follow the others, step down when anything goes wrong. */
  async #term(signal: AbortSignal, events: LeadershipEvents): Promise<void> {
    const { kv, logger } = this.options;
    const lease = kv.lease(Math.max(1, Math.round(this.options.ttlMs / 1000)));
    const uid = randomUUID();
    const ended = new AbortController();
    const endTerm = (reason: string) => {
      if (this.#epoch) {
        this.#epoch = undefined;
        events.stepDown(reason);
      }
      ended.abort(new Error(reason));
    };
    lease.on('lost', (err) => endTerm(`lease lost: ${err.message}`));
    const onAbort = () => ended.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let watcher: { cancel(): Promise<void> } | undefined;
    try {
      const leaseId = await lease.grant();
      await this.#claim(lease, uid, ended.signal);
      logger.info('leadership key claimed', { key: this.#key, lease: leaseId });

      let evaluating = Promise.resolve();
      const evaluate = () => {
        evaluating = evaluating
          .then(() => this.#evaluate(lease, leaseId, uid, events))
          .catch((err: Error) => endTerm(`leadership check failed: ${err.message}`));
      };
      const w = await kv.watch().prefix(leadershipPrefix).create();
      watcher = w;
      w.on('put', evaluate);
      w.on('delete', evaluate);
      w.on('error', (err) => endTerm(`leadership watch failed: ${err.message}`));
      evaluate();
      await new Promise<void>((resolve) => ended.signal.addEventListener('abort', () => resolve(), { once: true }));
    } finally {
      signal.removeEventListener('abort', onAbort);
      await watcher?.cancel().catch(() => {});
      if (this.#epoch) {
        this.#epoch = undefined;
        events.stepDown(signal.aborted ? 'shutting down' : 'leadership term ended');
      }
      // A clean stop frees this replica's partition at once instead of after the lease TTL.
      await lease.revoke().catch(() => lease.release());
    }
    if (!signal.aborted) throw ended.signal.reason instanceof Error ? ended.signal.reason : new Error('leadership term ended');
  }

  /** Creates the key if no live replica holds this ID; a second replica with the same ID waits (dormant). */
  async #claim(lease: Lease, uid: string, signal: AbortSignal): Promise<void> {
    const { kv, logger } = this.options;
    let warned = false;
    for (;;) {
      const count = (await kv.getAll().prefix(leadershipPrefix).keys()).length;
      const record: LeadershipRecord = { total: count + 1, uid, host: this.options.host };
      const result = await kv.if(this.#key, 'Create', '==', 0).then(lease.put(this.#key).value(JSON.stringify(record))).commit();
      if (result.succeeded) return;
      if (!warned) {
        logger.warn('another replica holds this scheduler ID; waiting for its key to go', { key: this.#key });
        warned = true;
      }
      await abortableDelay(1000, signal);
      if (signal.aborted) throw new Error('stopped while waiting for the leadership key');
    }
  }

  async #evaluate(lease: Lease, leaseId: string, uid: string, events: LeadershipEvents): Promise<void> {
    const { kv, logger } = this.options;
    const all = await kv.getAll().prefix(leadershipPrefix).strings();
    const ids = Object.keys(all).sort();
    const records = ids.map((id) => JSON.parse(all[id]!) as LeadershipRecord);
    const mine = all[this.#key] === undefined ? undefined : (JSON.parse(all[this.#key]!) as LeadershipRecord);
    if (!mine || mine.uid !== uid) throw new Error('this replica’s leadership key is gone');
    const total = ids.length;
    const agreed = records.every((r) => r.total === total);
    if (mine.total !== total || !agreed) {
      if (this.#epoch) {
        this.#epoch = undefined;
        events.stepDown(`replicas changed: ${total} leadership keys`);
      }
      if (mine.total !== total) {
        // Only after stepping down: the others cannot agree on the new count before this replica stopped.
        const updated: LeadershipRecord = { ...mine, total };
        await kv.if(this.#key, 'Lease', '==', leaseId).then(lease.put(this.#key).value(JSON.stringify(updated))).commit();
      }
      return;
    }
    const epoch: Epoch = { index: ids.indexOf(this.#key), total, hosts: records.map((r) => r.host) };
    const current = this.#epoch;
    if (current && current.index === epoch.index && current.total === epoch.total && current.hosts.join() === epoch.hosts.join()) return;
    if (current) events.stepDown('arrangement changed');
    this.#epoch = epoch;
    logger.info('partition agreed', { index: epoch.index, total: epoch.total, hosts: epoch.hosts });
    events.elected(epoch);
  }
}
