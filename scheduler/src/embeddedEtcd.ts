// The scheduler's embedded etcd (docs/scheduler-spec.md §7.3/7.4; Dapr's `pkg/scheduler/server/internal/etcd`).
// Dapr links etcd into its binary; tapr runs the real `etcd` binary (3.6) as a child process, configured from the
// same `--etcd-*` flags: the member's peer URL is its own `--etcd-initial-cluster` entry, the client listener is
// always plain http, and the data dir follows Dapr's layout and "existing cluster" marker rule. Flags were checked
// against `etcd --help` of etcd 3.6.16 (scheduler/test/embeddedEtcd.test.ts checks them again).
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { chmod, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { isIP } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger } from '@tapr/lib/logger';

export interface EmbeddedEtcdOptions {
  binary: string;              // path of the etcd executable
  id: string;                  // --id: etcd member name
  initialCluster: string[];    // --etcd-initial-cluster items "name=URL" (URL must have a scheme)
  dataDir: string;             // --etcd-data-dir
  clientPort: number;          // --etcd-client-port
  clientListenAddress: string; // --etcd-client-listen-address (default 'localhost')
  spaceQuotaBytes: number;     // parsed --etcd-space-quota (see quotaBackendBytes for what etcd is given)
  compactionMode: string; compactionRetention: string; snapshotCount: number; maxSnapshots: number; maxWals: number;
  backendBatchLimit: number; backendBatchIntervalMs: number; bootstrapDefragThresholdMb: number;
  initialElectionTickAdvance: boolean; metrics: string;
  mode: string;                // 'kubernetes' changes the listen host and the data-dir layout (spec §7.3/7.4)
  namespace: string;
  /** With mTLS: directory holding cert.pem, key.pem, ca.pem (the scheduler writes its SVID there); peers use https with client-cert auth. */
  tlsDir?: string;
  /**
   * With mTLS: the SAN host names a peer's certificate must carry (etcd's `--peer-cert-allowed-hostname`). Dapr
   * allows `dapr-scheduler-server-{0,1,2}.dapr-scheduler-server.<ns>.svc.<cluster domain>` (spec §2). Unset: any
   * certificate from the CA.
   */
  peerAllowedHostnames?: string[];
  /** How long etcd may take to stop after SIGTERM before it is killed; default 10 s. */
  stopGracePeriodMs?: number;
  logger: Logger;
}

export const existingClusterMarker = 'dapr-scheduler-existing-cluster';

const constants = {
  /** etcd's and Dapr's default token: members bootstrapped by Dapr's scheduler get the same member and cluster IDs. */
  clusterToken: 'etcd-cluster',
  /** Dapr sets MaxRequestBytes = MaxInt32 (etcd warns above 10 MB; jobs may be large). */
  maxRequestBytes: 2_147_483_647,
  /** Dapr's ExperimentalWarningApplyDuration. */
  warningApplyDuration: '5s',
  etcdDirName: 'dapr-0.1',
  linesKept: 20,
  lineMaxChars: 500,
  /** etcd's own stop waits up to its request timeout (5 s + 2 × election timeout = 7 s) on a leader transfer or open requests. */
  stopGracePeriodMs: 10_000,
  readyPollMs: 100,
  readyProbeTimeoutMs: 1_000,
} as const;

/**
 * etcd 3.6 does not cap `--quota-backend-bytes` (it warns above its 8 GiB "maximum" and then uses the value), but it
 * sizes bbolt's initial mmap as 1.1 × the quota: 128 TiB fails with "cannot allocate memory" and 1E with "mmap too
 * large" (both panic at start; checked with 3.6.16, `storage/backend.go`). Dapr's default 9.2E starts only because
 * 1.1 × 9.2E overflows int64 and the mmap size falls back to the default; the quota is then unreachable, i.e. none.
 * So: quotas up to 1 TiB go to etcd as given (verified to start), larger ones as -1 (etcd: "disabled backend
 * quota"), which is what Dapr's default amounts to. 0 keeps etcd's default of 2 GiB, as in Dapr.
 */
export const maxPassedQuotaBytes = 2 ** 40;

export function quotaBackendBytes(spaceQuotaBytes: number): string {
  if (Number.isNaN(spaceQuotaBytes)) throw new Error('the etcd space quota is not a number');
  if (spaceQuotaBytes > maxPassedQuotaBytes) return '-1';
  return String(Math.floor(spaceQuotaBytes));
}

interface PeerUrl {
  /** As written in --etcd-initial-cluster: advertised unchanged. */
  raw: string;
  scheme: 'http' | 'https';
  /** Without brackets for IPv6. */
  host: string;
  port: string;
}

const peerUrlPattern = /^(https?):\/\/(\[[^\]]+\]|[^/:?#[\]]+):(\d+)(?:[/?#].*)?$/;

/** This member's entry in --etcd-initial-cluster (Dapr `peerURLs` in `config.go`), with errors naming the flags. */
export function memberPeerUrl(options: Pick<EmbeddedEtcdOptions, 'id' | 'initialCluster'>): PeerUrl {
  const urls = new Map<string, string>();
  for (const item of options.initialCluster) {
    const equals = item.indexOf('=');
    if (equals <= 0) throw new Error(`--etcd-initial-cluster item "${item}" is not <id>=<URL>, e.g. dapr-scheduler-server-0=http://localhost:2380`);
    urls.set(item.slice(0, equals), item.slice(equals + 1));
  }
  const raw = urls.get(options.id);
  if (raw === undefined) throw new Error(`--id ${options.id} is not in --etcd-initial-cluster (${options.initialCluster.join(', ')})`);
  const match = peerUrlPattern.exec(raw);
  if (!match) {
    throw new Error(`--etcd-initial-cluster item "${options.id}=${raw}": the URL must be http://<host>:<port> or https://<host>:<port>`);
  }
  const [, scheme, host, port] = match as unknown as [string, 'http' | 'https', string, string];
  return { raw, scheme, host: host.replace(/^\[(.*)\]$/, '$1'), port };
}

const hostPort = (host: string, port: string | number) => `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;

/** The peer listener: the own URL, on 0.0.0.0 in kubernetes mode or when its host is a name other than localhost. */
function peerListenUrl(peer: PeerUrl, mode: string): string {
  const anyInterface = mode === 'kubernetes' || (isIP(peer.host) === 0 && peer.host !== 'localhost');
  return `${peer.scheme}://${hostPort(anyInterface ? '0.0.0.0' : peer.host, peer.port)}`;
}

export function clientUrl(options: Pick<EmbeddedEtcdOptions, 'clientListenAddress' | 'clientPort'>): string {
  return `http://${hostPort(options.clientListenAddress, options.clientPort)}`;
}

/** Go duration text for a number of milliseconds (whole ms when possible, else ns). */
function goDuration(ms: number): string {
  return Number.isInteger(ms) ? `${ms}ms` : `${Math.round(ms * 1e6)}ns`;
}

/** Pure: the etcd command-line arguments for these options (unit-testable). */
export function etcdArgs(options: EmbeddedEtcdOptions, dataDir: string): string[] {
  const peer = memberPeerUrl(options);
  const client = clientUrl(options);
  const tls = options.tlsDir;
  return [
    `--name=${options.id}`,
    `--data-dir=${dataDir}`,
    `--initial-cluster=${options.initialCluster.join(',')}`,
    '--initial-cluster-state=new',
    `--initial-cluster-token=${constants.clusterToken}`,
    `--initial-advertise-peer-urls=${peer.raw}`,
    `--listen-peer-urls=${peerListenUrl(peer, options.mode)}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--quota-backend-bytes=${quotaBackendBytes(options.spaceQuotaBytes)}`,
    `--auto-compaction-mode=${options.compactionMode}`,
    `--auto-compaction-retention=${options.compactionRetention}`,
    `--snapshot-count=${options.snapshotCount}`,
    `--max-snapshots=${options.maxSnapshots}`,
    `--max-wals=${options.maxWals}`,
    `--backend-batch-limit=${options.backendBatchLimit}`,
    `--backend-batch-interval=${goDuration(options.backendBatchIntervalMs)}`,
    // etcd 3.6 name; `--experimental-bootstrap-defrag-threshold-megabytes` is its deprecated alias (gone in 3.7).
    `--bootstrap-defrag-threshold-megabytes=${options.bootstrapDefragThresholdMb}`,
    `--initial-election-tick-advance=${options.initialElectionTickAdvance}`,
    `--metrics=${options.metrics}`,
    `--max-request-bytes=${constants.maxRequestBytes}`,
    `--warning-apply-duration=${constants.warningApplyDuration}`,
    ...(tls
      ? [
          `--peer-cert-file=${path.join(tls, 'cert.pem')}`,
          `--peer-key-file=${path.join(tls, 'key.pem')}`,
          `--peer-trusted-ca-file=${path.join(tls, 'ca.pem')}`,
          '--peer-client-cert-auth=true',
          ...(options.peerAllowedHostnames?.length ? [`--peer-cert-allowed-hostname=${options.peerAllowedHostnames.join(',')}`] : []),
        ]
      : []),
    '--logger=zap',
    // Explicit, so etcd never sends its log to journald when the scheduler runs under systemd.
    '--log-outputs=stderr',
    `--log-level=${options.logger.isDebugEnabled() ? 'info' : 'warn'}`,
  ];
}

/** Spec §7.4: where etcd keeps its data for these options. */
export function etcdDir(options: Pick<EmbeddedEtcdOptions, 'dataDir' | 'mode' | 'namespace' | 'id'>): string {
  return options.mode === 'kubernetes'
    ? path.join(options.dataDir, constants.etcdDirName)
    : path.join(options.dataDir, `${options.namespace}-${options.id}`, constants.etcdDirName);
}

/**
 * Spec §7.4 (Dapr `maybeDeleteDataDir`): without the marker `<data-dir>/dapr-scheduler-existing-cluster` the etcd
 * dir's contents are removed, the dir (re)created 0700 and the marker written; with it, the data is kept.
 */
export async function prepareDataDir(options: Pick<EmbeddedEtcdOptions, 'dataDir' | 'mode' | 'namespace' | 'id'>): Promise<string> {
  const dir = etcdDir(options);
  const marker = path.join(options.dataDir, existingClusterMarker);
  try {
    await stat(marker);
    return dir;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the marker ${marker}`, { cause: error });
  }
  try {
    const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? [] : Promise.reject(error)));
    await Promise.all(names.map((name) => rm(path.join(dir, name), { recursive: true, force: true })));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    await writeFile(marker, '', { mode: 0o600 });
  } catch (error) {
    throw new Error(`cannot prepare the etcd data dir ${dir}`, { cause: error });
  }
  return dir;
}

/** One line of etcd's output (zap JSON) as a message and fields, without time, caller and stack trace. */
function parseLine(line: string): { message: string; fields: Record<string, unknown> } {
  if (line.startsWith('{')) {
    try {
      const { msg, level, ts: _ts, caller: _caller, stacktrace: _stack, ...fields } = JSON.parse(line) as Record<string, unknown>;
      return { message: String(msg ?? ''), fields: { etcdLevel: level, ...fields } };
    } catch {
      // not JSON after all: keep the text
    }
  }
  return { message: line, fields: {} };
}

function summary(line: string): string {
  const { message, fields } = parseLine(line);
  const { etcdLevel, ...rest } = fields;
  const text = `${etcdLevel === undefined ? '' : `${String(etcdLevel)} `}${message}${Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : ''}`;
  return text.length > constants.lineMaxChars ? `${text.slice(0, constants.lineMaxChars)}…` : text;
}

/** 200 from `GET <endpoint>/readyz` (etcd 3.6: a leader and a linearizable read succeed). */
function probeReady(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(`${endpoint}/readyz`, { timeout: constants.readyProbeTimeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/** Logs each line etcd writes (at debug) and keeps the last few, summarised, for the error if it exits. */
function keepOutput(child: ChildProcessByStdio<null, Readable, Readable>, log: Logger): string[] {
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      const { message, fields } = parseLine(line);
      log.debug(message, fields);
      lines.push(summary(line));
      if (lines.length > constants.linesKept) lines.shift();
    });
  }
  return lines;
}

/** On abort: SIGTERM, then SIGKILL after the grace period. `stopping` says whether the abort came. */
function stopOnAbort(child: ChildProcess, signal: AbortSignal, gracePeriodMs: number, log: Logger) {
  let killTimer: NodeJS.Timeout | undefined;
  const state = {
    stopping: false,
    dispose: () => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
    },
  };
  function onAbort() {
    state.stopping = true;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => {
      log.warn('etcd did not stop in time; killing it', { gracePeriodMs });
      child.kill('SIGKILL');
    }, gracePeriodMs);
  }
  signal.addEventListener('abort', onAbort, { once: true });
  return state;
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // rejections reach whoever awaits whenReady(); none is unhandled
  return { promise, resolve, reject };
}

export class EmbeddedEtcd {
  /** http://<clientListenAddress>:<clientPort> — what the scheduler's etcd client dials. */
  readonly clientEndpoint: string;
  readonly #options: EmbeddedEtcdOptions;
  readonly #ready = deferred();
  #isReady = false;
  #started = false;
  #child: ChildProcess | undefined;

  /** Starts nothing; throws if the options cannot make an etcd member (e.g. --id not in --etcd-initial-cluster). */
  constructor(options: EmbeddedEtcdOptions) {
    memberPeerUrl(options);
    quotaBackendBytes(options.spaceQuotaBytes);
    this.#options = options;
    this.clientEndpoint = clientUrl(options);
  }

  /** The etcd process's id while it runs. */
  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  /** Runs etcd until `signal` aborts (then SIGTERM, wait, SIGKILL after a grace period) — rejects if etcd exits on its own, with its last stderr lines in the error. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new Error('the embedded etcd was already run');
    this.#started = true;
    try {
      await this.#run(signal);
      if (!this.#isReady) this.#ready.reject(new Error('the embedded etcd stopped before it was ready'));
    } catch (error) {
      this.#ready.reject(error as Error);
      throw error;
    }
  }

  /** Resolves once etcd's client port answers `GET /readyz` with 200; rejects if run() failed or `signal` aborts. */
  whenReady(signal?: AbortSignal): Promise<void> {
    if (!signal) return this.#ready.promise;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new Error('stopped waiting for the embedded etcd to be ready', { cause: signal.reason }));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#ready.promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  async #run(signal: AbortSignal): Promise<void> {
    const log = this.#options.logger;
    const dir = await prepareDataDir(this.#options);
    if (signal.aborted) return;
    const args = etcdArgs(this.#options, dir);
    log.info('starting etcd', { binary: this.#options.binary, dataDir: dir, clientEndpoint: this.clientEndpoint });
    log.debug('etcd arguments', { args });
    const started = Date.now();
    // Same process group (not detached): a signal to the scheduler's group reaches etcd too.
    const child = spawn(this.#options.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    // Synchronous kill on normal exit, so etcd never outlives the scheduler.
    const killOnExit = () => void child.kill('SIGKILL');
    process.on('exit', killOnExit);
    const lines = keepOutput(child, log);
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.on('error', (error) => resolve({ code: null, signal: null, error })); // `on`: a later error must not go unhandled
      child.once('close', (code, exitSignal) => resolve({ code, signal: exitSignal }));
    });
    const stop = stopOnAbort(child, signal, this.#options.stopGracePeriodMs ?? constants.stopGracePeriodMs, log);
    const probing = new AbortController();
    void this.#waitUntilReady(probing.signal, started);

    const end = await ended;
    probing.abort();
    stop.dispose();
    process.off('exit', killOnExit);
    if (end.error) throw new Error(`cannot start etcd (${this.#options.binary})`, { cause: end.error });
    if (stop.stopping) {
      log.info('etcd stopped', { code: end.code, signal: end.signal });
      return;
    }
    const how = end.signal ? `was killed by ${end.signal}` : `exited with code ${end.code}`;
    throw new Error(`etcd ${how} before it was stopped${lines.length ? `; its last output:\n${lines.join('\n')}` : ''}`);
  }

  async #waitUntilReady(signal: AbortSignal, started: number): Promise<void> {
    while (!signal.aborted) {
      if (await probeReady(this.clientEndpoint)) {
        if (signal.aborted) return;
        this.#isReady = true;
        this.#options.logger.info('etcd is ready', { clientEndpoint: this.clientEndpoint, ms: Date.now() - started });
        this.#ready.resolve();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, constants.readyPollMs));
    }
  }
}
