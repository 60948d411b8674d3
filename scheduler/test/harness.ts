// What the scheduler's integration tests run: a real etcd (the pinned binary), schedulers in-process or as the
// built binary, and gRPC clients that speak to them as daprd does (optionally with a test SVID for mTLS).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { binaryPaths, freePort, killProcessTree, waitFor, type TestTrustBundle } from '@tapr/lib/testing';
import { createLogger } from '@tapr/lib/logger';
import { StaticSvidSource, type Svid } from '@tapr/lib/security/svid';
import { grpcClientChannelOptions, grpcClientCredentials } from '@tapr/lib/security/grpcTls';
import type { SpiffeId } from '@tapr/lib/security/spiffe';
import { SchedulerClient, type WatchJobsRequest, type WatchJobsResponse } from '../src/proto.js';
import { readOptions } from '../src/options.js';
import { SchedulerService } from '../src/app.js';

export const schedulerBinary = path.resolve('scheduler/dist/src/main.js');

/** A single-member etcd on free loopback ports, in a temporary data dir. */
export class TestEtcd {
  #child: ChildProcess | undefined;
  #dir = '';
  endpoint = '';

  async start(): Promise<this> {
    const [client, peer] = await Promise.all([freePort(), freePort()]);
    this.#dir = await mkdtemp(path.join(tmpdir(), 'tapr-scheduler-etcd-'));
    this.endpoint = `http://127.0.0.1:${client}`;
    this.#child = spawn(
      binaryPaths().etcd,
      [
        `--data-dir=${this.#dir}`,
        `--listen-client-urls=${this.endpoint}`,
        `--advertise-client-urls=${this.endpoint}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=default=http://127.0.0.1:${peer}`,
        '--log-level=error',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(async () => (await fetch(`${this.endpoint}/health`).catch(() => undefined))?.ok, { what: 'etcd healthy', timeoutMs: 20_000 });
    return this;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await rm(this.#dir, { recursive: true, force: true });
  }
}

export interface InProcessScheduler {
  service: SchedulerService;
  port: number;
  address: string;
  stop(): Promise<void>;
}

/** A scheduler in this process on an external etcd; with `svid`, mTLS as in a cluster. */
export async function startInProcess(options: {
  etcd: string;
  id?: string;
  svid?: Svid;
  trustAnchorsFile?: string;
  leadershipTtl?: string;
  callerId?: (call: unknown) => SpiffeId | undefined;
  /** Kubernetes mode (mTLS, the namespace watch) with this kubeconfig; needs `svid`. */
  kubeconfig?: string;
  /** `--workers`: the most triggers awaiting an ack. */
  workers?: number;
}): Promise<InProcessScheduler> {
  const [healthz] = await Promise.all([freePort()]);
  const args = [
    '--port=0',
    '--listen-address=127.0.0.1',
    `--healthz-port=${healthz}`,
    '--enable-metrics=false',
    `--id=${options.id ?? 'dapr-scheduler-server-0'}`,
    '--etcd-embed=false',
    `--etcd-client-endpoints=${options.etcd}`,
    `--leadership-ttl=${options.leadershipTtl ?? '3s'}`,
    '--log-level=warn',
  ];
  if (options.svid) args.push('--tls-enabled', `--trust-anchors-file=${options.trustAnchorsFile ?? '/dev/null'}`);
  if (options.kubeconfig) args.push('--mode=kubernetes', `--kubeconfig=${options.kubeconfig}`);
  if (options.workers !== undefined) args.push(`--workers=${options.workers}`);
  const parsed = readOptions({ argv: args, env: { NAMESPACE: 'dapr-system' } });
  const logger = createLogger({ scope: 'scheduler-test', level: 'warn', json: false });
  const svid = options.svid ? { source: new StaticSvidSource(options.svid), parts: [] } : undefined;
  const service = new SchedulerService(parsed, { logger, svid, callerId: options.callerId as never });
  const controller = new AbortController();
  const running = service.run(controller.signal);
  running.catch(() => {});
  const port = await Promise.race([service.whenListening(), running.then(() => Promise.reject(new Error('scheduler stopped before listening')))]);
  await service.whenReady();
  return {
    service,
    port,
    address: `127.0.0.1:${port}`,
    stop: async () => {
      controller.abort();
      await running.catch(() => {});
    },
  };
}

/** The built binary, as Dapr's test framework runs it. */
export class SchedulerProcess {
  child: ChildProcess | undefined;
  output = '';

  constructor(readonly args: string[], readonly env: NodeJS.ProcessEnv = { NAMESPACE: 'default' }) {}

  static assertBuilt(): void {
    if (!existsSync(schedulerBinary)) throw new Error(`${schedulerBinary} is missing: build first (npx tsc -b scheduler)`);
  }

  start(): this {
    this.output = '';
    this.child = spawn(process.execPath, [schedulerBinary, ...this.args], { env: { PATH: process.env['PATH'], ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    return this;
  }

  get exited(): Promise<number | null> {
    const child = this.child!;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
    return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /**
   * SIGTERM: a graceful stop (the scheduler stops its etcd). SIGKILL: the process and its etcd, as a container
   * runtime kills a container — killing only the node process would leave its etcd holding ports and data.
   */
  async kill(signal: 'SIGTERM' | 'SIGKILL' = 'SIGKILL'): Promise<number | null> {
    const exited = this.exited;
    if (signal === 'SIGKILL' && this.child?.pid !== undefined) await killProcessTree(this.child.pid);
    else this.child?.kill(signal);
    return exited;
  }
}

export function schedulerClient(address: string, tls?: { bundle: TestTrustBundle; svid: Svid; serverId: SpiffeId }): InstanceType<typeof SchedulerClient> {
  if (!tls) return new SchedulerClient(address, grpc.credentials.createInsecure());
  const credentials = grpcClientCredentials({ trustAnchorsPem: () => tls.bundle.rootPem, serverId: tls.serverId, source: new StaticSvidSource(tls.svid) });
  return new SchedulerClient(address, credentials, grpcClientChannelOptions(address, tls.serverId));
}

type Client = InstanceType<typeof SchedulerClient>;

/** A unary call as a promise (the generic client has untyped methods). */
export function call<Res = Record<string, unknown>>(client: Client, method: string, request: object, deadlineMs = 10_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (req: object, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Res) => void) => void>)[method]!;
    fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export function jobMeta(namespace: string, appId: string) {
  return { namespace, appId, target: { job: {} } };
}
export function actorMeta(namespace: string, appId: string, type: string, id: string) {
  return { namespace, appId, target: { actor: { type, id } } };
}

/** A sidecar's WatchJobs stream: records triggers; acks them with `answer` (SUCCESS unless told otherwise). */
export class JobWatcher {
  readonly triggers: (WatchJobsResponse & { at: number })[] = [];
  readonly stream: grpc.ClientDuplexStream<WatchJobsRequest, WatchJobsResponse>;
  ended: grpc.ServiceError | undefined;
  closed = false;

  constructor(
    client: Client,
    initial: NonNullable<WatchJobsRequest['initial']>,
    private answer: (trigger: WatchJobsResponse) => 'SUCCESS' | 'FAILED' | 'NONE' = () => 'SUCCESS',
  ) {
    this.stream = (client as unknown as { WatchJobs(): grpc.ClientDuplexStream<WatchJobsRequest, WatchJobsResponse> }).WatchJobs();
    this.stream.on('data', (trigger: WatchJobsResponse) => {
      this.triggers.push({ ...trigger, at: Date.now() });
      const status = this.answer(trigger);
      // As daprd's Go encoding sends them: SUCCESS is proto3's zero value, so an ack of success has no status field.
      if (status === 'SUCCESS') this.stream.write({ result: { id: trigger.id } });
      else if (status !== 'NONE') this.stream.write({ result: { id: trigger.id, status } });
    });
    this.stream.on('error', (err: grpc.ServiceError) => {
      this.ended = err;
      this.closed = true;
    });
    this.stream.on('end', () => (this.closed = true));
    this.stream.write({ initial });
  }

  setAnswer(answer: (trigger: WatchJobsResponse) => 'SUCCESS' | 'FAILED' | 'NONE'): void {
    this.answer = answer;
  }

  names(): string[] {
    return this.triggers.map((t) => t.name);
  }

  close(): void {
    this.stream.cancel();
  }
}

/** A sidecar's WatchHosts stream. */
export function watchHosts(client: Client): { messages: string[][]; cancel(): void } {
  const messages: string[][] = [];
  const stream = (client as unknown as { WatchHosts(req: object): grpc.ClientReadableStream<{ hosts: { address: string }[] }> }).WatchHosts({});
  stream.on('data', (m: { hosts: { address: string }[] }) => messages.push(m.hosts.map((h) => h.address)));
  stream.on('error', () => {});
  return { messages, cancel: () => stream.cancel() };
}
