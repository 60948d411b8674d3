// Triggers the jobs this replica owns in the current epoch (docs/scheduler-spec.md §5, §7, §8). On election it
// reads the job space once, keeps the owned jobs in a due-time queue and follows changes with an etcd watch. A job
// has at most one trigger in flight; its result moves the job on (next tick, retry, or finished and deleted) and
// is written back as the job's counter, so the next owner resumes where this one stopped. Stepping down drops
// everything at once: results still arriving for the old epoch are ignored and the new owner triggers again
// (at-least-once delivery).
import type { Watcher } from 'etcd3';
import type { Logger } from '@tapr/lib/logger';
import type { Instant } from './civil.js';
import { DueQueue } from './dueQueue.js';
import { targetOf } from './jobKey.js';
import { jobMetadataCodec, type FailurePolicy } from './proto.js';
import { JobSchedule } from './schedule.js';
import { dataOf, type Counter, type JobStore, type StoredJob, type Versioned } from './store.js';
import type { DeliveryResult, StreamPool, Trigger } from './streams.js';
import type { Epoch } from './leadership.js';
import type { SchedulerMetrics } from './metrics.js';
import { CounterWriter } from './counterWriter.js';

const nsPerMs = 1_000_000n;
// Due jobs are fired in slices, so a burst does not hold the event loop (acks and API calls share it).
const triggerSlice = 5000;

interface EngineJob {
  key: string;
  stored: StoredJob;
  modRevision: string;
  schedule: JobSchedule;
  trigger: Trigger;
  counter: Counter;
  /** Scheduled time of the tick being delivered (retries keep it). */
  tick: Instant;
  /** When the next delivery is due (ms since the epoch): the tick, or a retry after it. */
  dueAt: number;
  queuedSeq: number;
  inFlight: boolean;
  /**
   * Whether etcd may hold a counter for this job, so finishing it must delete one: a job read from a snapshot may have
   * one, a job seen being written under a new key has none until its owner writes one (a counter is only written
   * while its job is unchanged, and goes with it), an overwritten one may still have its predecessor's.
   */
  counterMayExist: boolean;
}

/** Where the engine learnt of a job: a snapshot (with the counter read with it, if any), or the watch (just written). */
type JobSource = { counter: Counter | undefined } | { written: true };

export interface EngineOptions {
  store: JobStore;
  pool: StreamPool;
  metrics: SchedulerMetrics;
  logger: Logger;
  /**
   * The most triggers awaiting an ack at once (`--workers`, which Dapr gives go-etcd-cron as its worker count; tapr
   * reads it as this bound, docs/scheduler.md). Due jobs beyond it wait in due-time order until results free room.
   */
  maxInFlight?: number;
  now?: () => number;
}

export class Engine {
  readonly #jobs = new Map<string, EngineJob>();
  readonly #queue = new DueQueue<EngineJob>();
  /** Jobs no sidecar could take, by key: sent as soon as a stream for their prefix opens. */
  readonly #parked = new Map<string, EngineJob>();
  readonly #writer: CounterWriter;
  readonly #now: () => number;
  readonly #maxInFlight: number;
  /** Triggers of this term sent and not yet answered. */
  #inFlight = 0;
  /** A slice is queued with setImmediate: more jobs are due than one turn takes, or results freed room. */
  #pumping = false;
  #epoch: Epoch | undefined;
  /** Bumped on every start and stop: callbacks of an older term are ignored. */
  #term = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #watcher: Watcher | undefined;

  constructor(private readonly options: EngineOptions) {
    this.#now = options.now ?? Date.now;
    this.#maxInFlight = options.maxInFlight ?? 2048;
    this.#writer = new CounterWriter(options.store, options.logger.child('counters'));
  }

  get owned(): number {
    return this.#jobs.size;
  }

  get parked(): number {
    return this.#parked.size;
  }

  /** Owns the epoch's partition: loads its jobs and follows the job space until stop(). */
  async start(epoch: Epoch): Promise<void> {
    this.stop();
    const term = ++this.#term;
    this.#epoch = epoch;
    const { store, logger } = this.options;
    const snapshot = await store.snapshot();
    if (term !== this.#term) return;
    for (const job of snapshot.jobs) this.#upsertSafely(job, { counter: snapshot.counters.get(job.key) });
    logger.info('owning jobs', { partition: epoch.index, of: epoch.total, owned: this.#jobs.size, inJobSpace: snapshot.jobs.length });
    const watcher = await store.watchJobs(snapshot.revision);
    if (term !== this.#term) {
      await watcher.cancel();
      return;
    }
    this.#watcher = watcher;
    watcher.on('put', (kv) => {
      const job = store.parseJob(kv);
      if (term !== this.#term) return;
      if (job) this.#upsertSafely(job, { written: true });
      else logger.warn('ignoring a job record tapr cannot read', { key: kv.key.toString() });
    });
    watcher.on('delete', (kv) => {
      if (term === this.#term) this.#remove(store.keyOf(kv));
    });
    watcher.on('error', (err) => {
      // A watch that cannot resume (e.g. compacted history) means our view may be stale: read it all again.
      logger.warn('job watch failed; reloading the job space', { error: err.message });
      if (term === this.#term && this.#epoch) void this.start(this.#epoch);
    });
    this.#arm();
  }

  /** Drops every owned job at once (synchronously), so no trigger leaves after a step-down. */
  stop(): void {
    this.#term++;
    this.#epoch = undefined;
    this.#jobs.clear();
    this.#parked.clear();
    this.#queue.clear();
    this.#inFlight = 0;
    this.#pumping = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    void this.#watcher?.cancel().catch(() => {});
    this.#watcher = undefined;
  }

  /** Counter writes still pending (graceful shutdown waits for them). */
  flush(): Promise<void> {
    return this.#writer.flush();
  }

  /**
   * A stream that can take jobs under these prefixes opened: what was parked for it is due again (still at its own
   * due time, so the oldest go first and no more than the in-flight bound go out at once).
   */
  deliverable(prefixes: string[]): void {
    for (const [key, job] of this.#parked) {
      if (!prefixes.some((p) => key.startsWith(p))) continue;
      this.#parked.delete(key);
      if (this.#jobs.get(key) === job) this.#enqueue(job);
    }
  }

  #owns(stored: StoredJob): boolean {
    const epoch = this.#epoch;
    if (!epoch) return false;
    return BigInt(stored.partitionId) % BigInt(epoch.total) === BigInt(epoch.index);
  }

  /** A record this version cannot read is skipped (and logged), never a reason to stop triggering the rest. */
  #upsertSafely(entry: Versioned<StoredJob>, from: JobSource): void {
    try {
      this.#upsert(entry, from);
    } catch (err) {
      this.options.logger.error('skipping a stored job that cannot be read', { key: entry.key, error: (err as Error).message });
    }
  }

  #upsert(entry: Versioned<StoredJob>, from: JobSource): void {
    const counter = 'counter' in from ? from.counter : undefined;
    const existing = this.#jobs.get(entry.key);
    if (existing && existing.modRevision === entry.modRevision) return;
    if (existing) this.#remove(entry.key);
    if (!this.#owns(entry.value)) return;
    const stored = entry.value;
    let schedule: JobSchedule;
    try {
      schedule = JobSchedule.parse(stored, BigInt(stored.createdAt));
    } catch (err) {
      this.options.logger.error('stored job has a schedule that no longer parses; skipping it', { key: entry.key, error: (err as Error).message });
      return;
    }
    const fresh: Counter = { partitionId: stored.partitionId, count: 0, attempts: 0 };
    const progress = counter && counter.partitionId === stored.partitionId ? counter : fresh;
    const metadataBytes = Buffer.from(stored.metadata, 'base64');
    const target = targetOf(jobMetadataCodec.decode(metadataBytes));
    const job: EngineJob = {
      key: entry.key,
      stored,
      modRevision: entry.modRevision,
      schedule,
      counter: { ...progress },
      trigger: {
        namespace: target.namespace,
        target: target.kind === 'job' ? { kind: 'job', appId: target.appId } : { kind: 'actor', actorType: target.actorType },
        name: entry.key.slice(entry.key.lastIndexOf('||') + 2),
        data: dataOf(stored),
        metadata: metadataBytes,
      },
      tick: 0n,
      dueAt: 0,
      queuedSeq: 0,
      inFlight: false,
      counterMayExist: !('written' in from) || !entry.firstVersion,
    };
    const tick = schedule.upcoming(job.counter.count, job.counter.last === undefined ? undefined : BigInt(job.counter.last));
    if (tick === undefined) {
      this.#writer.finish(job.key, job.modRevision, job.counterMayExist);
      return;
    }
    job.tick = tick;
    job.dueAt = retryAt(tick, stored.failurePolicy, job.counter.attempts) ?? toMs(tick);
    this.#jobs.set(job.key, job);
    this.#enqueue(job);
  }

  #remove(key: string): void {
    const job = this.#jobs.get(key);
    if (!job) return;
    this.#jobs.delete(key);
    this.#parked.delete(key);
    this.#queue.cancel(job);
  }

  #enqueue(job: EngineJob): void {
    this.#queue.push(job, job.dueAt);
    if (job.dueAt < this.#timerAt) this.#arm();
  }

  /** One timer, for the earliest due job; none while a slice is queued or no trigger could be sent. */
  #arm(): void {
    if (this.#pumping || this.#inFlight >= this.#maxInFlight) return;
    const next = this.#queue.peek();
    if (next === undefined) return;
    if (this.#timer && next >= this.#timerAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = next;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, next - this.#now()));
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#pumping = false;
    const room = this.#maxInFlight - this.#inFlight;
    if (room <= 0) return; // the next result pumps again
    const limit = Math.min(triggerSlice, room);
    const due = this.#queue.takeDue(this.#now(), limit);
    for (const job of due) if (this.#jobs.get(job.key) === job) this.#fire(job);
    if (due.length === limit) this.#pump();
    else this.#arm();
  }

  /** Another slice in the next turn of the event loop (after the I/O that is waiting). */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = -Infinity;
    const term = this.#term;
    setImmediate(() => {
      if (term === this.#term) this.#onTimer();
    });
  }

  #fire(job: EngineJob): void {
    if (job.inFlight) return;
    const term = this.#term;
    job.inFlight = true;
    const sent = this.options.pool.deliver(job.trigger, (result) => {
      if (term !== this.#term) return;
      this.#inFlight--;
      this.#onResult(job, result);
      // Room again: jobs that came due while every trigger slot was taken go now, a later one gets its timer.
      if (this.#pumping) return;
      if ((this.#queue.peek() ?? Infinity) <= this.#now()) this.#pump();
      else this.#arm();
    });
    if (sent) {
      this.#inFlight++;
      return;
    }
    job.inFlight = false;
    this.options.metrics.undelivered(job.stored.type);
    this.#parked.set(job.key, job);
  }

  #onResult(job: EngineJob, result: DeliveryResult): void {
    if (this.#jobs.get(job.key) !== job) return;
    job.inFlight = false;
    const { metrics } = this.options;
    switch (result) {
      case 'UNDELIVERABLE':
        // The stream went away: another sidecar of the app may still take it, else it waits for one.
        this.#fire(job);
        return;
      case 'SUCCESS':
        metrics.triggered(job.stored.type, this.#now() - job.dueAt);
        this.#advance(job);
        return;
      case 'FAILED': {
        metrics.failed(job.stored.type);
        job.counter.attempts++;
        const retry = retryAt(job.tick, job.stored.failurePolicy, job.counter.attempts);
        if (retry === undefined) {
          this.#advance(job);
          return;
        }
        job.dueAt = retry;
        this.#putCounter(job);
        this.#enqueue(job);
        return;
      }
    }
  }

  /** The tick is done (delivered, dropped or out of retries): on to the next, or finished. */
  #advance(job: EngineJob): void {
    const next = job.schedule.upcoming(job.counter.count + 1, job.tick);
    if (next === undefined) {
      this.#jobs.delete(job.key);
      this.#writer.finish(job.key, job.modRevision, job.counterMayExist);
      return;
    }
    job.counter.count++;
    job.counter.last = job.tick.toString();
    job.counter.attempts = 0;
    job.tick = next;
    job.dueAt = toMs(next);
    this.#putCounter(job);
    this.#enqueue(job);
  }

  #putCounter(job: EngineJob): void {
    job.counterMayExist = true;
    this.#writer.put(job.key, job.modRevision, job.counter);
  }
}

function toMs(instant: Instant): number {
  return Number(instant / nsPerMs);
}

/**
 * When a failed tick is tried again, or undefined when it is not (drop policy, or retries used up): a constant
 * policy retries at tick + interval × attempts while max_retries is unset or not yet exceeded (spec §8.2).
 */
export function retryAt(tick: Instant, policy: FailurePolicy, attempts: number): number | undefined {
  if (attempts === 0) return undefined;
  const constant = policy.constant;
  if (!constant) return undefined;
  if (constant.maxRetries !== undefined && attempts > constant.maxRetries) return undefined;
  const intervalMs = Number(constant.interval?.seconds ?? 0) * 1000 + (constant.interval?.nanos ?? 0) / 1e6;
  return toMs(tick) + intervalMs * attempts;
}

