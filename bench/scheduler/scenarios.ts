// The benchmark's scenarios, each on a fresh scheduler (embedded etcd in a new data directory) with one simulated
// sidecar connected; bench.ts runs them and report.ts prints what they return.
import { loadavg } from 'node:os';
import { connect, GrpcJsSidecar, Http2Sidecar, quantile, scheduleJobs, waitForApi, wallNow, type Client, type ScheduleResult, type Sidecar, type Target } from './sidecar.js';
import {
  cpuSince,
  cpuSnapshot,
  etcdCounts,
  loopStats,
  memory,
  scrape,
  sleep,
  startScheduler,
  waitQuiet,
  type CpuUse,
  type SchedulerHandle,
} from './processes.js';

export interface Config {
  /** WatchJobs streams of the sidecar (daprd's --scheduler-job-streams, 3 by default). */
  streams: number;
  /** ScheduleJob calls in flight, over `channels` connections. */
  concurrency: number;
  channels: number;
  target: Target;
  /** 'h2': the sidecar in its own process on node:http2; 'grpc-js': in this process on grpc-js. */
  client: 'h2' | 'grpc-js';
  /** Due time after the first ScheduleJob; undefined: 10 s + 1 ms per job (assumes at least 1,000 jobs/s). */
  leadMs: number | undefined;
  /** Seconds to wait at most for the machine to be quiet before each run. */
  waitQuietSeconds: number;
  nodeArgs: string[];
  schedulerFlags: string[];
  /** burst: jobs scheduled and delivered first, unmeasured, so the measured burst meets a warmed-up process (0: none). */
  warmup: number;
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
export const log = (...parts: unknown[]) => console.error(`[${new Date().toISOString().slice(11, 23)}]`, ...parts);

interface Setup {
  scheduler: SchedulerHandle;
  clients: Client[];
  sidecar: Sidecar;
  /** The machine before the run: load average and the cores other processes used in a second. */
  machine: { loadAverage: number[]; otherCores: number };
}

async function setUp(config: Config): Promise<Setup> {
  const otherCores = await waitQuiet(config.waitQuietSeconds, () => [process.pid]);
  const machine = { loadAverage: loadavg(), otherCores };
  log(`load average ${machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}; other processes ${otherCores.toFixed(2)} cores`);
  const scheduler = await startScheduler({ nodeArgs: config.nodeArgs, flags: config.schedulerFlags });
  const clients = Array.from({ length: config.channels }, (_, i) => connect(scheduler.address, i));
  await waitForApi(clients[0]!);
  const sidecar: Sidecar = config.client === 'grpc-js' ? new GrpcJsSidecar(scheduler.address, config.streams, config.channels) : new Http2Sidecar(scheduler.address, config.streams);
  await sidecar.ready();
  const deadline = Date.now() + 20_000;
  while ((await scrape(scheduler.metricsPort)).get('dapr_scheduler_sidecars_connected') !== config.streams) {
    if (Date.now() > deadline) throw new Error('the sidecar streams did not connect');
    await sleep(50);
  }
  return { scheduler, clients, sidecar, machine };
}

async function tearDown({ scheduler, clients, sidecar }: Setup): Promise<void> {
  sidecar.close();
  for (const client of clients) client.close();
  await scheduler.stop();
}

/** Seconds since the scheduler started (to find a phase in its CPU profile with profile.ts --from/--to). */
const offset = (scheduler: SchedulerHandle) => (Date.now() - scheduler.startedAt) / 1000;

/** Polls until `done()` (true) or the deadline (false), logging progress every 5 s. */
async function until(done: () => boolean, deadline: number, progress: () => string): Promise<boolean> {
  let report = Date.now() + 5000;
  while (!done()) {
    if (wallNow() > deadline) return false;
    if (Date.now() > report) {
      report = Date.now() + 5000;
      log(progress());
    }
    await sleep(5);
  }
  return true;
}

/** Polls etcd until no job and no counter is left, or the deadline; returns what is left. */
async function untilEtcdEmpty(scheduler: SchedulerHandle, deadline: number) {
  let left = await etcdCounts(scheduler.etcd);
  while (left.jobs + left.counters > 0 && wallNow() < deadline) {
    await sleep(100);
    left = await etcdCounts(scheduler.etcd);
  }
  return left;
}

// BENCH_BUCKET_MS: a finer bucket than a second for "delivered per second" (e.g. 100 to see the first second).
const bucketMs = Number(process.env['BENCH_BUCKET_MS'] ?? 1000);

/** Arrivals per wall-clock bucket (a second unless BENCH_BUCKET_MS says otherwise) after `from` (0 = not arrived). */
function perSecond(times: Float64Array, from: number): number[] {
  const buckets: number[] = [];
  for (const t of times) {
    if (t === 0) continue;
    const b = Math.max(0, Math.floor((t - from) / bucketMs));
    while (buckets.length <= b) buckets.push(0);
    buckets[b]!++;
  }
  return buckets;
}

function percentiles(sorted: Float64Array) {
  return { min: sorted[0] ?? NaN, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN };
}

type Scheduling = ScheduleResult & CpuUse & { concurrency: number; channels: number; phaseS: number[] };

async function schedule(setup: Setup, config: Config, n: number, job: (i: number) => object): Promise<Scheduling> {
  const { scheduler, clients, sidecar } = setup;
  const before = cpuSnapshot(scheduler, sidecar.pid);
  const from = offset(scheduler);
  const result = await scheduleJobs(clients, n, config.concurrency, config.target, job);
  return { ...result, ...cpuSince(before, cpuSnapshot(scheduler, sidecar.pid)), concurrency: config.concurrency, channels: config.channels, phaseS: [from, offset(scheduler)] };
}

/** A smaller burst before the measured one: V8 compiles the trigger paths of scheduler and sidecar on it. */
async function warmUp(setup: Setup, config: Config, n: number): Promise<void> {
  const { scheduler, sidecar } = setup;
  let delivered = 0;
  sidecar.onTrigger = () => delivered++;
  const dueAt = Math.ceil((Date.now() + 3000 + n) / 1000) * 1000;
  await schedule(setup, config, n, () => ({ dueTime: rfc3339(dueAt) }));
  await until(() => delivered >= n, dueAt + 120_000, () => `warm-up: ${delivered} of ${n} delivered`);
  await untilEtcdEmpty(scheduler, Date.now() + 120_000);
  await sleep(2000);
  log(`warm-up: ${n} jobs scheduled and delivered`);
}

/** N one-shot jobs due at one instant: delivery rate, lateness, CPU, memory, and how long etcd takes to empty. */
export async function burst(config: Config, n: number) {
  const setup = await setUp(config);
  const { scheduler, sidecar } = setup;
  try {
    await sleep(3000);
    const idle = memory(scheduler);
    if (config.warmup > 0) await warmUp(setup, config, config.warmup);
    const dueAt = Math.ceil((Date.now() + (config.leadMs ?? 10_000 + n)) / 1000) * 1000;
    const arrivals = new Float64Array(n);
    let delivered = 0;
    let duplicates = 0;
    let early = 0;
    sidecar.onTrigger = (i, at) => {
      if (at < dueAt) early++;
      if (arrivals[i] !== 0) {
        duplicates++;
        return;
      }
      arrivals[i] = at;
      delivered++;
    };
    // daprd stores a reminder's data as an Any; a small one, as most reminders carry.
    const data = { type_url: 'type.googleapis.com/google.protobuf.BytesValue', value: Buffer.from('{"reminder":"bench"}') };
    const scheduling = await schedule(setup, config, n, () => ({ dueTime: rfc3339(dueAt), data }));
    const slackMs = dueAt - wallNow();
    log(`burst ${n}: scheduled at ${scheduling.perSecond.toFixed(0)}/s, ${(slackMs / 1000).toFixed(1)} s before the due time`);
    if (slackMs > 1500) await sleep(slackMs - 1500);
    const loaded = { ...memory(scheduler), ...(await etcdCounts(scheduler.etcd)), ...(await loopStats(scheduler)) };
    const before = cpuSnapshot(scheduler, sidecar.pid);
    await until(() => delivered === n, dueAt + 600_000, () => `burst ${n}: ${delivered} delivered, ${((wallNow() - dueAt) / 1000).toFixed(1)} s after due`);
    const allDeliveredAfterMs = wallNow() - dueAt;
    const delivering = { ...cpuSince(before, cpuSnapshot(scheduler, sidecar.pid)), ...(await loopStats(scheduler)), phaseS: [(dueAt - scheduler.startedAt) / 1000, offset(scheduler)] };
    const afterDelivery = memory(scheduler);
    // The owner deletes every finished one-shot job (and any counter) from etcd: until nothing is left.
    const leftInEtcd = await untilEtcdEmpty(scheduler, dueAt + 600_000);
    const etcdEmptyAfterMs = wallNow() - dueAt;
    const untilEmpty = { ...cpuSince(before, cpuSnapshot(scheduler, sidecar.pid)), ...(await loopStats(scheduler)), ...memory(scheduler) };
    const lateness = new Float64Array(delivered);
    let last = 0;
    let j = 0;
    for (const at of arrivals) {
      if (at === 0) continue;
      lateness[j++] = at - dueAt;
      last = Math.max(last, at);
    }
    const deliverySeconds = (last - dueAt) / 1000;
    return {
      scenario: 'burst' as const,
      jobs: n,
      warmup: config.warmup,
      target: config.target,
      streams: config.streams,
      machine: setup.machine,
      scheduling: { ...scheduling, slackMs },
      /** False when scheduling took longer than the lead: jobs were then triggered while others were being scheduled. */
      valid: slackMs > 1000,
      idle,
      loaded,
      delivered,
      duplicates,
      early,
      deliverySeconds,
      triggersPerSecond: delivered / deliverySeconds,
      latenessMs: percentiles(lateness.sort()),
      perSecond: perSecond(arrivals, dueAt),
      delivering,
      afterDelivery,
      allDeliveredAfterMs,
      etcdEmptyAfterMs,
      leftInEtcd,
      untilEmpty,
      streamErrors: sidecar.errors.slice(0, 3),
    };
  } finally {
    await tearDown(setup);
  }
}

/** N jobs `@every 1s` for `seconds` ticks from one instant: per-second deliveries and lateness against each tick. */
export async function steady(config: Config, n: number, seconds: number) {
  const setup = await setUp(config);
  const { scheduler, sidecar } = setup;
  try {
    await sleep(1000);
    const startAt = Math.ceil((Date.now() + (config.leadMs ?? 10_000 + n)) / 1000) * 1000;
    const total = n * seconds;
    const counts = new Uint16Array(n);
    const arrivals = new Float64Array(total);
    const lateness = new Float64Array(total);
    let received = 0;
    let beyond = 0;
    sidecar.onTrigger = (i, at) => {
      const k = counts[i]!++;
      if (k >= seconds) {
        beyond++;
        return;
      }
      arrivals[received] = at;
      lateness[received++] = at - (startAt + k * 1000);
    };
    const scheduling = await schedule(setup, config, n, () => ({ schedule: '@every 1s', dueTime: rfc3339(startAt), repeats: seconds }));
    const slackMs = startAt - wallNow();
    log(`steady ${n}: scheduled at ${scheduling.perSecond.toFixed(0)}/s, ${(slackMs / 1000).toFixed(1)} s before the first tick`);
    if (slackMs > 1500) await sleep(slackMs - 1500);
    const loaded = { ...memory(scheduler), ...(await loopStats(scheduler)) };
    const before = cpuSnapshot(scheduler, sidecar.pid);
    await until(() => received === total, startAt + seconds * 1000 + 600_000, () => `steady ${n}: ${received} of ${total} triggers`);
    const delivering = { ...cpuSince(before, cpuSnapshot(scheduler, sidecar.pid)), ...(await loopStats(scheduler)), ...memory(scheduler), phaseS: [(startAt - scheduler.startedAt) / 1000, offset(scheduler)] };
    // The last tick finishes every job: its key and its counter are deleted.
    const leftInEtcd = await untilEtcdEmpty(scheduler, startAt + seconds * 1000 + 120_000);
    const etcdEmptyAfterLastTickMs = wallNow() - (startAt + (seconds - 1) * 1000);
    let last = 0;
    for (const at of arrivals.subarray(0, received)) last = Math.max(last, at);
    return {
      scenario: 'steady' as const,
      jobs: n,
      seconds,
      target: config.target,
      streams: config.streams,
      machine: setup.machine,
      scheduling: { ...scheduling, slackMs },
      valid: slackMs > 1000,
      loaded,
      offeredPerSecond: n,
      triggers: received,
      expected: total,
      beyond,
      /** When the last trigger arrived, after the first tick (the last tick is at seconds - 1). */
      lastTriggerAfterStartS: (last - startAt) / 1000,
      latenessMs: percentiles(lateness.subarray(0, received).sort()),
      perSecond: perSecond(arrivals.subarray(0, received), startAt),
      delivering,
      etcdEmptyAfterLastTickMs,
      leftInEtcd,
      streamErrors: sidecar.errors.slice(0, 3),
    };
  } finally {
    await tearDown(setup);
  }
}

/** N jobs due in an hour: memory with them loaded, then a restart on the same data until it owns them all again. */
export async function load(config: Config, n: number) {
  const setup = await setUp(config);
  const { scheduler, clients, sidecar } = setup;
  let restarted: SchedulerHandle | undefined;
  try {
    await sleep(3000);
    const idle = memory(scheduler);
    const dueTime = rfc3339(Date.now() + 3_600_000);
    const scheduling = await schedule(setup, config, n, () => ({ dueTime }));
    await sleep(3000);
    const loaded = { ...memory(scheduler), ...(await etcdCounts(scheduler.etcd)), ...(await loopStats(scheduler)) };
    // With SCHEDULER_NODE_ARGS=--heapsnapshot-signal=SIGUSR2: a heap snapshot of the loaded scheduler (in its cwd).
    if (process.env['HEAP_SNAPSHOT'] === '1') {
      process.kill(scheduler.pid, 'SIGUSR2');
      await sleep(20_000);
    }
    // Restart on the same data: the new process reads the whole job space (in pages) before it triggers anything.
    sidecar.close();
    for (const client of clients) client.close();
    await scheduler.stop({ keepData: true });
    const startedAt = Date.now();
    restarted = await startScheduler({ nodeArgs: config.nodeArgs, flags: config.schedulerFlags, dataDir: scheduler.dataDir });
    const healthyAfterMs = Date.now() - startedAt;
    const deadline = Date.now() + 300_000;
    while ((await scrape(restarted.metricsPort).catch(() => new Map<string, number>())).get('dapr_scheduler_tapr_owned_jobs') !== n) {
      if (Date.now() > deadline) throw new Error('the restarted scheduler did not load every job');
      await sleep(50);
    }
    const owningAfterMs = Date.now() - startedAt;
    await sleep(3000);
    const restart = { healthyAfterMs, owningAfterMs, ...memory(restarted), ...(await loopStats(restarted)) };
    return { scenario: 'load' as const, jobs: n, target: config.target, machine: setup.machine, scheduling, idle, loaded, restart };
  } finally {
    if (restarted) await restarted.stop();
    else await tearDown(setup);
  }
}

export type BurstResult = Awaited<ReturnType<typeof burst>>;
export type SteadyResult = Awaited<ReturnType<typeof steady>>;
export type LoadResult = Awaited<ReturnType<typeof load>>;
