// What daprd does against the scheduler, reduced to what the benchmark needs: ScheduleJob calls with many in flight,
// and WatchJobs streams (daprd opens --scheduler-job-streams=3 per sidecar) that ack every trigger with SUCCESS as
// soon as it arrives and record when it arrived.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { SchedulerClient, type WatchJobsRequest, type WatchJobsResponse } from '../../scheduler/dist/src/proto.js';

export type Client = InstanceType<typeof SchedulerClient>;

export const namespace = 'default';
export const appId = 'bench';
export const actorType = 'BenchActor';
export type Target = 'actor' | 'job';

/** Wall-clock time in ms since the epoch with sub-millisecond resolution (the scheduler uses Date.now()). */
export const wallNow = () => performance.timeOrigin + performance.now();

/** A client on its own HTTP/2 connection (grpc-js shares one between clients with equal options). */
export function connect(address: string, index: number): Client {
  return new SchedulerClient(address, grpc.credentials.createInsecure(), { 'grpc.tapr_bench_channel': index, 'grpc.max_receive_message_length': -1 });
}

export function metadataFor(target: Target, index: number): object {
  return target === 'actor'
    ? { namespace, appId, target: { actor: { type: actorType, id: `a${index}` } } }
    : { namespace, appId, target: { job: {} } };
}

function unary(client: Client, method: string, request: object, deadlineMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (req: object, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void>)[method]!;
    fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Waits until the API answers (it holds calls until the first partition agreement). */
export async function waitForApi(client: Client): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await unary(client, 'GetJob', { name: 'probe', metadata: metadataFor('job', 0) }, 2000);
      return;
    } catch (err) {
      if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND) return;
      if (Date.now() > deadline) throw err;
    }
  }
}

export interface ScheduleResult {
  seconds: number;
  perSecond: number;
  errors: number;
  firstError?: string;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Schedules `count` jobs named r0…r<count-1> (`job(i)` gives each one's Job message) with `concurrency` calls in
 * flight spread over the clients; reports the rate and the call latency.
 */
export async function scheduleJobs(clients: Client[], count: number, concurrency: number, target: Target, job: (i: number) => object): Promise<ScheduleResult> {
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies = new Float64Array(count);
  const started = wallNow();
  const worker = async (client: Client) => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const t0 = wallNow();
      try {
        await unary(client, 'ScheduleJob', { name: `r${i}`, job: job(i), metadata: metadataFor(target, i), overwrite: true }, 120_000);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
      latencies[i] = wallNow() - t0;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(clients[w % clients.length]!)));
  const seconds = (wallNow() - started) / 1000;
  const sorted = latencies.sort();
  return { seconds, perSecond: count / seconds, errors, firstError, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) };
}

/** A trigger as the benchmark keeps it: which job (r<index>) and when it arrived. */
export type OnTrigger = (index: number, at: number) => void;

export interface Sidecar {
  received: number;
  errors: string[];
  onTrigger: OnTrigger;
  /** The process whose CPU the sidecar uses (this one for the grpc-js sidecar). */
  readonly pid: number;
  ready(): Promise<void>;
  close(): void;
}

const sidecarProcess = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sidecarProcess.ts');

/** One sidecar's WatchJobs streams in a child process, over node:http2 on one connection (sidecarProcess.ts). */
export class Http2Sidecar implements Sidecar {
  received = 0;
  errors: string[] = [];
  onTrigger: OnTrigger = () => {};
  readonly #child: ChildProcess;
  readonly #ready: Promise<void>;

  constructor(address: string, streams: number, env: Record<string, string> = {}) {
    this.#child = fork(sidecarProcess, [], {
      execArgv: ['--import', import.meta.resolve('tsx')],
      env: { ...process.env, ...env, SCHEDULER_ADDRESS: address, STREAMS: String(streams), APP_ID: appId, NAMESPACE: namespace, ACTOR_TYPE: actorType },
    });
    this.#ready = new Promise((resolve, reject) => {
      this.#child.once('exit', (code) => reject(new Error(`the sidecar process exited (${code})`)));
      this.#child.on('message', (message: { type: string; at?: number[]; index?: number[]; error?: string }) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'ended') this.errors.push(message.error!);
        else if (message.type === 'triggers') {
          const { at, index } = message as { at: number[]; index: number[] };
          this.received += at.length;
          for (let i = 0; i < at.length; i++) this.onTrigger(index[i]!, at[i]!);
        }
      });
    });
    this.#ready.catch(() => {});
    process.on('exit', () => this.#child.kill('SIGKILL'));
  }

  get pid(): number {
    return this.#child.pid!;
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  close(): void {
    if (this.#child.connected) this.#child.send({ cmd: 'stop' });
  }
}

/** The same sidecar on grpc-js in this process, each stream on its own connection (--client grpc-js). */
export class GrpcJsSidecar implements Sidecar {
  readonly streams: grpc.ClientDuplexStream<WatchJobsRequest, WatchJobsResponse>[] = [];
  received = 0;
  errors: string[] = [];
  onTrigger: OnTrigger = () => {};
  readonly pid = process.pid;

  async ready(): Promise<void> {}

  constructor(address: string, streams: number, firstChannel: number) {
    for (let s = 0; s < streams; s++) {
      const client = connect(address, firstChannel + s);
      const stream = (client as unknown as { WatchJobs(): grpc.ClientDuplexStream<WatchJobsRequest, WatchJobsResponse> }).WatchJobs();
      stream.on('data', (trigger: WatchJobsResponse) => {
        const at = wallNow();
        this.received++;
        stream.write({ result: { id: trigger.id, status: 'SUCCESS' } });
        this.onTrigger(Number(trigger.name.slice(1)), at);
      });
      stream.on('error', (err: Error) => {
        if (!/CANCELLED/.test(err.message)) this.errors.push(err.message);
      });
      stream.write({ initial: { appId, namespace, actorTypes: [actorType], acceptJobTypes: [] } });
      this.streams.push(stream);
    }
  }

  close(): void {
    for (const stream of this.streams) stream.cancel();
  }
}

/** The q-quantile of sorted values (nearest rank). */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
