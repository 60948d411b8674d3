// Signing on worker threads. Jobs go to the worker with the fewest in flight and travel in batches: a worker has at
// most two batches outstanding (one being signed, one waiting, so it never idles between them); jobs arriving
// meanwhile wait and go together in the next batch. A message costs about as much as a small job, so under load
// batches grow and the per-job overhead shrinks; a lone request still goes out at once. Each worker is told about
// an issuer the first time a job needs it, so a job is always signed by the issuer its response will name. A worker
// that dies fails its in-flight jobs and is replaced.
//
// Workers run only while there is work: each is a V8 isolate of about 7 MiB, and sentry idles most of its life
// between bursts of starting sidecars. The first job after a quiet spell starts the workers and is signed on this
// thread, as are jobs arriving before a worker is up (~40 ms); after `idleMs` without a job the workers stop.
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@tapr/lib';
import { CsrError } from '../x509/csr.js';
import { LeafSignerCache, signNow, type IssuerHandle, type SignJob, type Signer } from './signer.js';
import type { WorkerJob, WorkerResult } from './workerProtocol.js';

interface Pending {
  resolve: (der: Buffer) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** The worker has started and takes jobs. */
  online: boolean;
  /** Stopped on purpose (idle): its exit is not a failure. */
  stopping: boolean;
  pending: Map<number, Pending>;
  queue: WorkerJob[];
  issuersSent: Set<number>;
  /** Issuers to send with the next batch. */
  newIssuers: IssuerHandle[];
  batchesInFlight: number;
  flushScheduled: boolean;
}

const maxBatchesInFlight = 2;
export const defaultWorkerIdleMs = 30_000;

export interface WorkerPoolOptions {
  size: number;
  logger: Logger;
  /** The compiled worker module; defaults to signWorker.js next to this file. */
  workerScript?: URL;
  /** Workers stop after this long without a job (default 30 s); the next job starts them again. */
  idleMs?: number;
}

export class WorkerPoolSigner implements Signer {
  #slots: Slot[] = [];
  readonly #script: URL;
  readonly #inline = new LeafSignerCache();
  #nextId = 1;
  #closed = false;
  #lastJob = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #signedHere = 0;

  constructor(private readonly options: WorkerPoolOptions) {
    this.#script = options.workerScript ?? new URL('./signWorker.js', import.meta.url);
    if (!existsSync(fileURLToPath(this.#script))) {
      throw new Error(`signing worker ${fileURLToPath(this.#script)} not found (build sentry with tsc, or run with --signing-workers=0)`);
    }
  }

  /** Workers running now (started or starting). */
  get workers(): number {
    return this.#slots.length;
  }

  /** Workers that have started and take jobs. */
  get onlineWorkers(): number {
    return this.#slots.filter((slot) => slot.online).length;
  }

  /** Jobs signed on this thread because no worker was up yet. */
  get signedHere(): number {
    return this.#signedHere;
  }

  sign(job: SignJob, issuer: IssuerHandle): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new Error('the signer is closed'));
    this.#lastJob = Date.now();
    if (this.#slots.length === 0) this.#start();
    const online = this.#slots.filter((s) => s.online);
    if (online.length === 0) {
      // Workers are starting: this job does not wait for them.
      this.#signedHere++;
      try {
        return Promise.resolve(signNow(this.#inline, job, issuer));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const slot = online.reduce((best, s) => (s.pending.size < best.pending.size ? s : best));
    const id = this.#nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      if (!slot.issuersSent.has(issuer.generation)) {
        slot.issuersSent.add(issuer.generation);
        slot.newIssuers.push(issuer);
      }
      slot.queue.push({
        id,
        generation: issuer.generation,
        // A compact copy: the request's bytes are usually a view into a larger buffer, all of which a message
        // would otherwise copy.
        csr: new Uint8Array(job.csr),
        uri: job.uri,
        dnsNames: job.dnsNames,
        notBefore: job.notBefore.getTime(),
        notAfter: job.notAfter.getTime(),
      });
      if (!slot.flushScheduled) {
        slot.flushScheduled = true;
        setImmediate(() => this.#flush(slot));
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#idleTimer);
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #start(): void {
    for (let i = 0; i < this.options.size; i++) this.#slots.push(this.#spawn());
    const idleMs = this.options.idleMs ?? defaultWorkerIdleMs;
    this.#idleTimer = setInterval(() => this.#stopIfIdle(idleMs), Math.max(10, Math.min(idleMs / 4, 5000)));
    this.#idleTimer.unref();
    this.options.logger.debug('signing workers started', { workers: this.options.size });
  }

  #stopIfIdle(idleMs: number): void {
    if (Date.now() - this.#lastJob < idleMs) return;
    if (this.#slots.some((slot) => slot.pending.size > 0 || slot.queue.length > 0)) return;
    clearInterval(this.#idleTimer);
    this.#idleTimer = undefined;
    const slots = this.#slots;
    this.#slots = [];
    for (const slot of slots) {
      slot.stopping = true;
      void slot.worker.terminate();
    }
    this.options.logger.debug('signing workers stopped while idle', { idleMs });
  }

  #flush(slot: Slot): void {
    slot.flushScheduled = false;
    if (slot.queue.length === 0 || slot.batchesInFlight >= maxBatchesInFlight) return;
    const jobs = slot.queue;
    slot.queue = [];
    const issuers = slot.newIssuers;
    slot.newIssuers = [];
    slot.batchesInFlight++;
    slot.worker.postMessage(issuers.length ? { issuers, jobs } : { jobs });
  }

  #spawn(): Slot {
    const worker = new Worker(this.#script);
    worker.unref();
    const slot: Slot = {
      worker,
      online: false,
      stopping: false,
      pending: new Map(),
      queue: [],
      issuersSent: new Set(),
      newIssuers: [],
      batchesInFlight: 0,
      flushScheduled: false,
    };
    worker.once('online', () => (slot.online = true));
    worker.on('message', (results: WorkerResult[]) => {
      slot.batchesInFlight--;
      this.#flush(slot);
      for (const result of results) {
        const pending = slot.pending.get(result.id);
        if (!pending) continue;
        slot.pending.delete(result.id);
        if (result.der) pending.resolve(Buffer.from(result.der.buffer, result.der.byteOffset, result.der.byteLength));
        else if (result.error && result.error.problem !== 'internal') pending.reject(new CsrError(result.error.problem, result.error.message));
        else pending.reject(new Error(result.error?.message ?? 'signing worker returned nothing'));
      }
    });
    const fail = (error: Error) => {
      for (const pending of slot.pending.values()) pending.reject(new Error(`signing worker failed: ${error.message}`, { cause: error }));
      slot.pending.clear();
      if (this.#closed || slot.stopping) return;
      this.options.logger.error('a signing worker stopped; starting a new one', { error: error.message });
      const index = this.#slots.indexOf(slot);
      if (index >= 0) this.#slots[index] = this.#spawn();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.#closed && !slot.stopping && this.#slots.includes(slot)) fail(new Error(`exited with code ${code}`));
    });
    return slot;
  }
}
