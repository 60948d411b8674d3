// Writes job progress back to etcd. Results arrive one per trigger (thousands a second), so writes queued in the
// same turn of the event loop go out together, one transaction per batch. Each write is conditioned on the job
// being unchanged since it was read (its mod revision): progress of a job that was rewritten or deleted meanwhile
// is dropped, and a finished job is deleted only if nobody replaced it (with its counter, when it may have one). If
// one condition in a batch fails, the batch is retried write by write so the others still land.
import type { IOperation } from 'etcd3';
import type { Logger } from '@tapr/lib/logger';
import { countersPrefix, jobsPrefix, type Counter, type JobStore } from './store.js';

type Write =
  | { kind: 'put'; key: string; modRevision: string; counter: Counter }
  | { kind: 'finish'; key: string; modRevision: string; deleteCounter: boolean };

// etcd's default --max-txn-ops: the most compares, and the most operations, one transaction may have. A write is one
// compare and one operation, a finished job with a counter two operations.
const maxTxnOps = 128;
const opsOf = (write: Write) => (write.kind === 'finish' && write.deleteCounter ? 2 : 1);

export class CounterWriter {
  #pending = new Map<string, Write>();
  #scheduled = false;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: JobStore,
    private readonly logger: Logger,
  ) {}

  put(key: string, modRevision: string, counter: Counter): void {
    this.#queue({ kind: 'put', key, modRevision, counter: { ...counter } });
  }

  /** Deletes the finished job; `deleteCounter` when etcd may hold a counter for it (else one operation fewer). */
  finish(key: string, modRevision: string, deleteCounter: boolean): void {
    this.#queue({ kind: 'finish', key, modRevision, deleteCounter });
  }

  /** Resolves when everything queued so far is written (or failed and logged). */
  async flush(): Promise<void> {
    if (this.#pending.size > 0) this.#write();
    await this.#inFlight;
  }

  #queue(write: Write): void {
    // A later write of the same job supersedes one not yet sent.
    this.#pending.set(write.key, write);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#write());
  }

  #write(): void {
    this.#scheduled = false;
    const writes = [...this.#pending.values()];
    this.#pending = new Map();
    if (writes.length === 0) return;
    const batches: Write[][] = [];
    let batch: Write[] = [];
    let ops = 0;
    for (const write of writes) {
      // Operations are never fewer than writes (compares), so this bounds both.
      if (ops + opsOf(write) > maxTxnOps) {
        batches.push(batch);
        batch = [];
        ops = 0;
      }
      batch.push(write);
      ops += opsOf(write);
    }
    batches.push(batch);
    this.#inFlight = this.#inFlight.then(() => Promise.all(batches.map((batch) => this.#commit(batch))).then(() => {}));
  }

  async #commit(batch: Write[]): Promise<void> {
    try {
      if (await this.#txn(batch)) return;
      if (batch.length > 1) for (const write of batch) await this.#txn([write]);
    } catch (err) {
      // The owner keeps going from memory; if etcd stays away its lease lapses and another replica resumes from
      // the last counter that landed (re-delivering at most the ticks since).
      this.logger.warn('could not write job progress', { jobs: batch.length, error: (err as Error).message });
    }
  }

  async #txn(batch: Write[]): Promise<boolean> {
    const kv = this.store.kv;
    let txn = kv.if(jobsPrefix + batch[0]!.key, 'Mod', '==', batch[0]!.modRevision);
    for (const write of batch.slice(1)) txn = txn.and(jobsPrefix + write.key, 'Mod', '==', write.modRevision);
    const ops: IOperation[] = [];
    for (const write of batch) {
      if (write.kind === 'put') {
        ops.push(kv.put(countersPrefix + write.key).value(JSON.stringify(write.counter)));
      } else {
        ops.push(kv.delete().key(jobsPrefix + write.key));
        if (write.deleteCounter) ops.push(kv.delete().key(countersPrefix + write.key));
      }
    }
    const result = await txn.then(...ops).commit();
    return result.succeeded;
  }
}
