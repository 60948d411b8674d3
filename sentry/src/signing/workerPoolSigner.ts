// Signing on worker threads. Jobs wait in one queue until the end of the current event-loop turn (everything that
// arrived in the same network read), then travel in batches: one transferred buffer per batch each way (see
// workerProtocol.ts). A worker has at most two batches outstanding (one being signed, one waiting, so it never
// idles between them); the workers with room share the queue, the rest waits for the next free slot. A
// message costs about as much as a small job, so under load batches grow and the per-job overhead shrinks.
//
// A job that arrives alone while no worker has anything to do is signed here instead (`inlineLoneJobs`): the
// event loop has nothing else to do either, and two thread hops (~50–100 µs each when the workers sleep) would be
// most of the request's latency. Each worker is told about an issuer the first time a job needs it, so a job is
// always signed by the issuer its response will name. A worker that dies fails its in-flight jobs and is replaced.
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
import { decodeResults, encodeJobs, type WorkerJob, type WorkerRequest } from './workerProtocol.js';

interface Pending {
  resolve: (der: Buffer) => void;
  reject: (error: Error) => void;
}

interface Queued extends Pending {
  job: SignJob;
  issuer: IssuerHandle;
}

interface Slot {
  worker: Worker;
  /** The worker has started and takes jobs. */
  online: boolean;
  /** Stopped on purpose (idle): its exit is not a failure. */
  stopping: boolean;
  pending: Map<number, Pending>;
  issuersSent: Set<number>;
  batchesInFlight: number;
}

const maxBatchesInFlight = 2;
/** Larger batches would only make the first results of a burst wait longer. */
const maxBatchSize = 64;
export const defaultWorkerIdleMs = 30_000;

export interface WorkerPoolOptions {
  size: number;
  logger: Logger;
  /** The compiled worker module; defaults to signWorker.js next to this file. */
  workerScript?: URL;
  /** Workers stop after this long without a job (default 30 s); the next job starts them again. */
  idleMs?: number;
  /** Sign a job here when it is the only one and the workers are idle (default true). */
  inlineLoneJobs?: boolean;
}

export class WorkerPoolSigner implements Signer {
  #slots: Slot[] = [];
  readonly #script: URL;
  readonly #inline = new LeafSignerCache();
  readonly #inlineLoneJobs: boolean;
  #queue: Queued[] = [];
  #flushScheduled = false;
  #nextId = 1;
  #closed = false;
  #lastJob = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #signedHere = 0;

  constructor(private readonly options: WorkerPoolOptions) {
    this.#script = options.workerScript ?? new URL('./signWorker.js', import.meta.url);
    this.#inlineLoneJobs = options.inlineLoneJobs ?? true;
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

  /** Jobs signed on this thread: no worker was up yet, or the job came alone to idle workers. */
  get signedHere(): number {
    return this.#signedHere;
  }

  sign(job: SignJob, issuer: IssuerHandle): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new Error('the signer is closed'));
    this.#lastJob = Date.now();
    if (this.#slots.length === 0) this.#start();
    if (!this.#slots.some((s) => s.online)) return this.#signHere(job, issuer); // workers are starting: no waiting for them
    return new Promise<Buffer>((resolve, reject) => {
      this.#queue.push({ job, issuer, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(this.#flushNow);
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#idleTimer);
    const closed = new Error('the signer is closed');
    for (const queued of this.#queue.splice(0)) queued.reject(closed);
    for (const slot of this.#slots) for (const pending of slot.pending.values()) pending.reject(closed);
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #signHere(job: SignJob, issuer: IssuerHandle): Promise<Buffer> {
    this.#signedHere++;
    return signNow(this.#inline, job, issuer);
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
    if (this.#queue.length > 0 || this.#slots.some((slot) => slot.pending.size > 0)) return;
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

  readonly #flushNow = () => {
    this.#flushScheduled = false;
    this.#flush(this.#inlineLoneJobs);
  };

  /**
   * Hands queued jobs to workers with room: each takes its share, so a burst is spread over all of them. With
   * `inlineLone`, a lone job while every worker sleeps is signed here (not when a worker has just answered: it is
   * awake).
   */
  #flush(inlineLone = false): void {
    const queue = this.#queue;
    if (queue.length === 0) return;
    const online = this.#slots.filter((s) => s.online);
    if (inlineLone && queue.length === 1 && online.every((s) => s.batchesInFlight === 0)) {
      const lone = queue.pop() as Queued;
      this.#signHere(lone.job, lone.issuer).then(lone.resolve, lone.reject);
      return;
    }
    // Shared among the workers that can take a batch now, not all of them: when one worker has answered and the
    // other is full, the one with room takes the whole queue. Fewer, larger batches mean fewer thread hand-offs
    // (a message round trip costs tens of µs of CPU); the full worker still has two batches to sign meanwhile.
    const withRoom = online.filter((s) => s.batchesInFlight < maxBatchesInFlight);
    const share = Math.min(maxBatchSize, Math.ceil(queue.length / Math.max(1, withRoom.length)));
    for (const slot of withRoom) {
      if (queue.length === 0) break;
      this.#send(slot, queue.splice(0, share));
    }
  }

  #send(slot: Slot, batch: Queued[]): void {
    const issuers: IssuerHandle[] = [];
    const jobs: WorkerJob[] = batch.map(({ job, issuer, resolve, reject }) => {
      if (!slot.issuersSent.has(issuer.generation)) {
        slot.issuersSent.add(issuer.generation);
        issuers.push(issuer);
      }
      const id = this.#nextId++;
      slot.pending.set(id, { resolve, reject });
      return { id, generation: issuer.generation, csr: job.csr, uri: job.uri, dnsNames: job.dnsNames, notBefore: job.notBefore.getTime(), notAfter: job.notAfter.getTime() };
    });
    const packed = encodeJobs(jobs);
    slot.batchesInFlight++;
    // The bare buffer when the worker knows the issuers already: no object to serialise.
    const request: WorkerRequest<IssuerHandle> = issuers.length ? { issuers, jobs: packed } : packed;
    slot.worker.postMessage(request, [packed]);
  }

  #spawn(): Slot {
    const worker = new Worker(this.#script);
    worker.unref();
    const slot: Slot = { worker, online: false, stopping: false, pending: new Map(), issuersSent: new Set(), batchesInFlight: 0 };
    worker.once('online', () => {
      slot.online = true;
      this.#flush(); // jobs may be waiting for a replaced worker
    });
    worker.on('message', (results: ArrayBuffer) => {
      slot.batchesInFlight--;
      this.#flush(); // the next batch first, so the worker does not wait while these results are handed out
      decodeResults(results, (result) => {
        const pending = slot.pending.get(result.id);
        if (!pending) return;
        slot.pending.delete(result.id);
        if (result.der) pending.resolve(Buffer.from(result.der.buffer, result.der.byteOffset, result.der.byteLength));
        else if (result.error && result.error.problem !== 'internal') pending.reject(new CsrError(result.error.problem, result.error.message));
        else pending.reject(new Error(result.error?.message ?? 'signing worker returned nothing'));
      });
    });
    const fail = (error: Error) => {
      slot.batchesInFlight = 0;
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
