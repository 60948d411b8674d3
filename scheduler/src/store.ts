// The job space in etcd (docs/scheduler-spec.md §4): under the `dapr/` namespace, `jobs/<key>` holds a job as
// accepted and `counters/<key>` its progress (triggers done, last tick, attempts at the current tick). Keys are
// Dapr's; the values are tapr's JSON (Dapr's are go-etcd-cron protobufs, so a mixed Dapr/tapr cluster cannot share
// one etcd — docs/scheduler.md). Every replica reads and writes jobs here; only a job's owner writes its counter.
import type { Etcd3, IKeyValue, Namespace, Watcher } from 'etcd3';
import { status } from '@grpc/grpc-js';
import type { Any, FailurePolicy, Job } from './proto.js';
import { SchedulerError } from './errors.js';

export const jobsPrefix = 'jobs/';
export const countersPrefix = 'counters/';

/** A job as stored: what the caller sent, plus what was fixed when it was accepted. */
export interface StoredJob {
  /** Random uint64 (decimal): the job's partition is partitionId mod the replica count. New at every write. */
  partitionId: string;
  /** When the job was accepted (ns since the epoch, decimal): relative due times and ttls count from here. */
  createdAt: string;
  schedule?: string;
  dueTime?: string;
  ttl?: string;
  repeats?: number;
  failurePolicy: FailurePolicy;
  data?: { typeUrl: string; value: string };
  /** The request's JobMetadata, serialized (base64): sent back with every trigger. */
  metadata: string;
  /** 'job' or 'actor', for metrics labels. */
  type: 'job' | 'actor';
}

/** A job's progress; written by its owner after every result. */
export interface Counter {
  /** The StoredJob.partitionId this counts for: a rewritten job starts from zero. */
  partitionId: string;
  /** Ticks done (delivered, dropped or out of retries). */
  count: number;
  /** Scheduled time (ns, decimal) of the last tick done. */
  last?: string;
  /** Failed deliveries of the current tick. */
  attempts: number;
}

export interface Versioned<T> {
  key: string;
  value: T;
  modRevision: string;
  /** The key held no job before this version (etcd's create revision is its mod revision), so it has no counter. */
  firstVersion: boolean;
}

export function storedJobFromRequest(job: Job, metadata: Buffer, type: 'job' | 'actor', partitionId: string, createdAt: bigint): StoredJob {
  const stored: StoredJob = {
    partitionId,
    createdAt: createdAt.toString(),
    failurePolicy: job.failurePolicy ?? defaultFailurePolicy(),
    metadata: metadata.toString('base64'),
    type,
  };
  if (job.schedule !== undefined) stored.schedule = job.schedule;
  if (job.dueTime !== undefined) stored.dueTime = job.dueTime;
  if (job.ttl !== undefined) stored.ttl = job.ttl;
  if (job.repeats !== undefined) stored.repeats = job.repeats;
  if (job.data) stored.data = { typeUrl: job.data.type_url ?? '', value: Buffer.from(job.data.value ?? []).toString('base64') };
  return stored;
}

/** Dapr's default when a job names no failure policy: retry every second, three times (spec §3.1). */
export function defaultFailurePolicy(): FailurePolicy {
  return { constant: { interval: { seconds: '1', nanos: 0 }, maxRetries: 3 } };
}

/** The Job message of GetJob/ListJobs: the fields as submitted, the stored failure policy. */
export function jobMessage(stored: StoredJob): Job {
  const job: Job = { failurePolicy: stored.failurePolicy };
  if (stored.schedule !== undefined) job.schedule = stored.schedule;
  if (stored.dueTime !== undefined) job.dueTime = stored.dueTime;
  if (stored.ttl !== undefined) job.ttl = stored.ttl;
  if (stored.repeats !== undefined) job.repeats = stored.repeats;
  if (stored.data) job.data = dataOf(stored);
  return job;
}

export function dataOf(stored: StoredJob): Any | undefined {
  return stored.data ? { type_url: stored.data.typeUrl, value: Buffer.from(stored.data.value, 'base64') } : undefined;
}

// A page of a range read: large job spaces are read in pages, not one message.
const pageSize = 2000;

export class JobStore {
  readonly kv: Namespace;

  constructor(readonly client: Etcd3) {
    this.kv = client.namespace('dapr/');
  }

  /** Writes a job; without `overwrite` only if the key is free (AlreadyExists with Dapr's text otherwise). */
  async put(key: string, job: StoredJob, overwrite: boolean): Promise<void> {
    const value = JSON.stringify(job);
    if (overwrite) {
      await this.kv.put(jobsPrefix + key).value(value).exec();
      return;
    }
    const result = await this.kv
      .if(jobsPrefix + key, 'Create', '==', 0)
      .then(this.kv.put(jobsPrefix + key).value(value))
      .commit();
    if (!result.succeeded) throw new SchedulerError(status.ALREADY_EXISTS, `job already exists: '${key}'`);
  }

  async get(key: string): Promise<StoredJob | undefined> {
    const text = await this.kv.get(jobsPrefix + key).string();
    return text === null ? undefined : (JSON.parse(text) as StoredJob);
  }

  /** Deletes a job and its counter in one transaction; deleting an absent job is not an error. */
  async delete(key: string): Promise<void> {
    await this.kv.if(jobsPrefix + key, 'Version', '>', -1).then(this.kv.delete().key(jobsPrefix + key), this.kv.delete().key(countersPrefix + key)).commit();
  }

  async deletePrefix(prefix: string): Promise<void> {
    await this.kv
      .if(jobsPrefix + prefix, 'Version', '>', -1)
      .then(this.kv.delete().prefix(jobsPrefix + prefix), this.kv.delete().prefix(countersPrefix + prefix))
      .commit();
  }

  /** Jobs under a key prefix, in key order. */
  async list(prefix: string): Promise<Versioned<StoredJob>[]> {
    const { items } = await this.#range(jobsPrefix + prefix);
    return items.flatMap((kv) => this.#job(kv) ?? []);
  }

  /** Every job and counter at one revision (the engine's starting point; it then watches from revision + 1). */
  async snapshot(): Promise<{ jobs: Versioned<StoredJob>[]; counters: Map<string, Counter>; revision: string }> {
    const jobs = await this.#range(jobsPrefix);
    const counters = await this.#range(countersPrefix, jobs.revision);
    return {
      jobs: jobs.items.flatMap((kv) => this.#job(kv) ?? []),
      counters: new Map(counters.items.map((kv) => [kv.key.toString().slice('dapr/'.length + countersPrefix.length), JSON.parse(kv.value.toString()) as Counter])),
      revision: jobs.revision,
    };
  }

  /** Follows every job write after `afterRevision`; events carry full keys (parseJob and keyOf read them). */
  watchJobs(afterRevision: string): Promise<Watcher> {
    return this.client.watch().prefix('dapr/' + jobsPrefix).startRevision(String(BigInt(afterRevision) + 1n)).create();
  }

  /** The job key of a full etcd key (`dapr/jobs/<key>`). */
  keyOf(kv: IKeyValue): string {
    return kv.key.toString().slice('dapr/'.length + jobsPrefix.length);
  }

  parseJob(kv: IKeyValue): Versioned<StoredJob> | undefined {
    return this.#job(kv);
  }

  /** undefined for a value that is not a tapr job record (e.g. written by another program into the same etcd). */
  #job(kv: IKeyValue): Versioned<StoredJob> | undefined {
    const key = this.keyOf(kv);
    let value: StoredJob;
    try {
      value = JSON.parse(kv.value.toString()) as StoredJob;
    } catch {
      return undefined;
    }
    if (typeof value !== 'object' || value === null || typeof value.partitionId !== 'string' || typeof value.createdAt !== 'string') return undefined;
    return {
      key,
      value,
      modRevision: String(kv.mod_revision),
      firstVersion: String(kv.create_revision) === String(kv.mod_revision),
    };
  }

  /** A prefix read in pages (at one revision), through the raw KV API: etcd3's builders read a range in one message. */
  async #range(prefix: string, atRevision?: string): Promise<{ items: IKeyValue[]; revision: string }> {
    const start = Buffer.from('dapr/' + prefix);
    const end = prefixEnd(start);
    const items: IKeyValue[] = [];
    let revision = atRevision;
    let from = start;
    for (;;) {
      const response = await this.client.kv.range({ key: from, range_end: end, limit: pageSize, revision: revision ?? '0' });
      revision ??= String(response.header.revision);
      items.push(...response.kvs);
      if (!response.more || response.kvs.length === 0) break;
      from = Buffer.concat([response.kvs[response.kvs.length - 1]!.key, Buffer.from([0])]);
    }
    return { items, revision: revision ?? '0' };
  }
}

/** The smallest key after every key with this prefix (etcd's range_end for a prefix). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
