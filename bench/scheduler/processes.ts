// The processes under test: the built scheduler binary with its embedded etcd (the real etcd 3.6 binary, as users
// run it), and what /proc and the metrics endpoint say about them.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { binaryPaths } from '@tapr/lib/testing/binaries';
import { freePort } from '@tapr/lib/testing/ports';

const here = path.dirname(fileURLToPath(import.meta.url));
// SCHEDULER_BINARY: another build to compare with (it must resolve the repository's node_modules, so inside it).
export const schedulerBinary = process.env['SCHEDULER_BINARY'] ? path.resolve(process.env['SCHEDULER_BINARY']) : path.resolve(here, '../../scheduler/dist/src/main.js');

export interface SchedulerHandle {
  child: ChildProcess;
  pid: number;
  /** Wall-clock ms when it was spawned (a --cpu-prof profile starts about then). */
  startedAt: number;
  address: string;
  metricsPort: number;
  etcdEndpoint: string;
  etcd: Etcd3;
  /** The embedded etcd's pid (a child of the scheduler). */
  etcdPid(): number | undefined;
  /** The embedded etcd's data directory (a restart with StartOptions.dataDir reuses it). */
  dataDir: string;
  output(): string;
  /** SIGTERM (SIGKILL after 15 s); the data directory is removed unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface StartOptions {
  /** Extra node arguments for the scheduler (e.g. --cpu-prof --cpu-prof-dir=...). */
  nodeArgs?: string[];
  /** Extra scheduler flags. */
  flags?: string[];
  /** Start on this data directory (a restart) instead of a new one. */
  dataDir?: string;
}

/** The scheduler binary with embedded etcd in a fresh data directory; resolves once its API answers. */
export async function startScheduler(options: StartOptions = {}): Promise<SchedulerHandle> {
  const [port, healthz, metricsPort, etcdClient, etcdPeer] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'tapr-scheduler-bench-'));
  const args = [
    ...(options.nodeArgs ?? []),
    schedulerBinary,
    '--listen-address=127.0.0.1',
    `--port=${port}`,
    `--healthz-port=${healthz}`,
    `--metrics-port=${metricsPort}`,
    `--etcd-binary=${binaryPaths().etcd}`,
    `--etcd-data-dir=${dataDir}`,
    `--etcd-client-port=${etcdClient}`,
    '--etcd-client-listen-address=127.0.0.1',
    `--etcd-initial-cluster=dapr-scheduler-server-0=http://127.0.0.1:${etcdPeer}`,
    '--log-level=warn',
    ...(options.flags ?? []),
  ];
  let output = '';
  const startedAt = Date.now();
  const child = spawn(process.execPath, args, { env: { PATH: process.env['PATH'], NAMESPACE: 'default' }, stdio: ['ignore', 'pipe', 'pipe'] });
  // BENCH_SCHEDULER_LOG: a file to append the scheduler's whole output to (e.g. with SCHEDULER_NODE_ARGS=--trace-gc).
  const logFile = process.env['BENCH_SCHEDULER_LOG'];
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    if (logFile) appendFileSync(logFile, chunk);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.on('exit', () => child.kill('SIGKILL'));
  const etcdEndpoint = `http://127.0.0.1:${etcdClient}`;
  const handle: SchedulerHandle = {
    child,
    pid: child.pid!,
    startedAt,
    address: `127.0.0.1:${port}`,
    metricsPort,
    etcdEndpoint,
    etcd: new Etcd3({ hosts: [etcdEndpoint] }),
    etcdPid: () => childrenOf(child.pid!).find((pid) => comm(pid) === 'etcd'),
    dataDir,
    output: () => output,
    stop: async ({ keepData = false } = {}) => {
      handle.etcd.close();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killed = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killed);
      }
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the scheduler exited (${child.exitCode}):\n${output}`);
    const ok = await fetch(`http://127.0.0.1:${healthz}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`the scheduler did not become healthy:\n${output}`);
    await sleep(100);
  }
  return handle;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const task of safe(() => readdirSync(`/proc/${pid}/task`), [])) {
    const text = safe(() => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8'), '');
    out.push(...text.split(' ').filter(Boolean).map(Number));
  }
  return out;
}

function comm(pid: number): string {
  return safe(() => readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), '');
}

function safe<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
export function memoryOf(pid: number | undefined): { rssMiB: number; peakMiB: number } {
  if (pid === undefined) return { rssMiB: NaN, peakMiB: NaN };
  const status = safe(() => readFileSync(`/proc/${pid}/status`, 'utf8'), '');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/** CPU time (user + system) a process has used, all its threads or one (`tid`), in ms. */
export function cpuMsOf(pid: number | undefined, tid?: number): number {
  if (pid === undefined) return NaN;
  const stat = safe(() => readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8'), '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime), in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU time all cores spent busy since boot (everything but idle and iowait), in ms, from /proc/stat. */
export function machineBusyMs(): number {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) * 10;
}

/** Waits (up to `seconds`) for a second in which processes other than `ours` use under 0.2 cores. */
export async function waitQuiet(seconds: number, ours: () => number[]): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let others = NaN;
  do {
    const busy = machineBusyMs();
    const mine = ours().reduce((sum, pid) => sum + cpuMsOf(pid), 0);
    await sleep(1000);
    others = (machineBusyMs() - busy - (ours().reduce((sum, pid) => sum + cpuMsOf(pid), 0) - mine)) / 1000;
    if (others < 0.2) break;
  } while (Date.now() < deadline);
  return others;
}

/** RSS now and at its peak (VmHWM), in MiB, of the scheduler and of its etcd. */
export function memory(scheduler: SchedulerHandle) {
  const s = memoryOf(scheduler.pid);
  const e = memoryOf(scheduler.etcdPid());
  return { schedulerRssMiB: s.rssMiB, schedulerPeakMiB: s.peakMiB, etcdRssMiB: e.rssMiB, etcdPeakMiB: e.peakMiB };
}

/** CPU used so far by the scheduler (all threads, and its main thread), its etcd, this process, the sidecar, the machine. */
export function cpuSnapshot(scheduler: SchedulerHandle, sidecarPid: number) {
  return {
    wall: Date.now(),
    machine: machineBusyMs(),
    scheduler: cpuMsOf(scheduler.pid),
    schedulerMain: cpuMsOf(scheduler.pid, scheduler.pid),
    etcd: cpuMsOf(scheduler.etcdPid()),
    bench: cpuMsOf(process.pid),
    sidecar: sidecarPid === process.pid ? 0 : cpuMsOf(sidecarPid),
  };
}
export type CpuSnapshot = ReturnType<typeof cpuSnapshot>;

export interface CpuUse {
  schedulerCpuMs: number;
  schedulerMainThreadCpuMs: number;
  etcdCpuMs: number;
  benchCpuMs: number;
  sidecarCpuMs: number;
  /** Cores used meanwhile by every other process on the machine (other work sharing the two cores). */
  otherCores: number;
}

export function cpuSince(before: CpuSnapshot, after: CpuSnapshot): CpuUse {
  const d = (k: keyof CpuSnapshot) => after[k] - before[k];
  const ours = d('scheduler') + d('etcd') + d('bench') + d('sidecar');
  return {
    schedulerCpuMs: d('scheduler'),
    schedulerMainThreadCpuMs: d('schedulerMain'),
    etcdCpuMs: d('etcd'),
    benchCpuMs: d('bench'),
    sidecarCpuMs: d('sidecar'),
    otherCores: (d('machine') - ours) / d('wall'),
  };
}

/** Event-loop delay since the last scrape (prom-client restarts the histogram at every scrape) and heap used. */
export async function loopStats(scheduler: SchedulerHandle) {
  const m = await scrape(scheduler.metricsPort);
  return {
    loopDelayMaxMs: (m.get('nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000,
    loopDelayP99Ms: (m.get('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
    heapUsedMiB: (m.get('nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20,
  };
}

/** The scheduler's Prometheus metrics as name{labels} → value (reading resets prom-client's event-loop histogram). */
export async function scrape(metricsPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

/** Keys under the scheduler's job and counter prefixes, and etcd's database size. */
export async function etcdCounts(etcd: Etcd3): Promise<{ jobs: number; counters: number; dbMiB: number }> {
  const [jobs, counters, status] = await Promise.all([
    etcd.getAll().prefix('dapr/jobs/').count(),
    etcd.getAll().prefix('dapr/counters/').count(),
    etcd.maintenance.status(),
  ]);
  return { jobs, counters, dbMiB: Number(status.dbSize) / 2 ** 20 };
}
