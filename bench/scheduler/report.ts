// What bench.ts prints for each scenario's result (the JSON goes to stderr, or to stdout with --json).
import type { BurstResult, LoadResult, SteadyResult } from './scenarios.js';
import type { CpuUse } from './processes.js';

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mib = (m: number) => `${m.toFixed(0)} MiB`;
const perItem = (ms: number, count: number) => `${fmt((ms * 1000) / count)} µs`;

function cpuLine(title: string, cpu: CpuUse & { loopDelayMaxMs: number }, count: number, unit: string): string {
  return (
    `  ${title}: CPU per ${unit}: scheduler ${perItem(cpu.schedulerCpuMs, count)} (main thread ${perItem(cpu.schedulerMainThreadCpuMs, count)}), ` +
    `etcd ${perItem(cpu.etcdCpuMs, count)}, sidecar ${perItem(cpu.sidecarCpuMs, count)}, bench ${perItem(cpu.benchCpuMs, count)}; ` +
    `event-loop delay max ${fmt(cpu.loopDelayMaxMs)} ms; other processes ${fmt(cpu.otherCores, 2)} cores`
  );
}

function schedulingLine(s: BurstResult['scheduling'], n: number): string {
  return (
    `  scheduling: ${fmt(s.perSecond)} jobs/s (${fmt(s.seconds, 1)} s, ${s.concurrency} in flight, call p50 ${fmt(s.p50Ms, 1)} ms, p99 ${fmt(s.p99Ms, 1)} ms, ` +
    `${s.errors} errors); CPU per job: scheduler ${perItem(s.schedulerCpuMs, n)}, etcd ${perItem(s.etcdCpuMs, n)}, bench ${perItem(s.benchCpuMs, n)}; ` +
    `other processes ${fmt(s.otherCores, 2)} cores`
  );
}

const warning = (valid: boolean) => (valid ? [] : ['  NOT VALID: scheduling ended after the due time (jobs triggered while others were still being scheduled); use a larger --lead-ms']);

export function burstSummary(r: BurstResult): string {
  const l = r.latenessMs;
  return [
    `burst: ${fmt(r.jobs)} one-shot ${r.target} jobs due at one instant, ${r.streams} streams${r.warmup > 0 ? `, after a warm-up burst of ${fmt(r.warmup)}` : ''}`,
    ...warning(r.valid),
    schedulingLine(r.scheduling, r.jobs),
    `  delivered ${fmt(r.delivered)} in ${fmt(r.deliverySeconds, 2)} s after the due time: ${fmt(r.triggersPerSecond)} triggers/s (duplicates ${r.duplicates}, early ${r.early})`,
    `  lateness ms: p50 ${fmt(l.p50, 1)}, p99 ${fmt(l.p99, 1)}, max ${fmt(l.max, 1)} (min ${fmt(l.min, 1)})`,
    `  delivered per second after the due time: ${r.perSecond.join(' ')}`,
    cpuLine('delivering', r.delivering, r.delivered, 'trigger'),
    `  etcd empty again (every finished job deleted) ${fmt(r.etcdEmptyAfterMs / 1000, 2)} s after the due time; CPU until then per job: scheduler ${perItem(r.untilEmpty.schedulerCpuMs, r.jobs)}, etcd ${perItem(r.untilEmpty.etcdCpuMs, r.jobs)}`,
    `  RSS idle: scheduler ${mib(r.idle.schedulerRssMiB)}, etcd ${mib(r.idle.etcdRssMiB)}; with the jobs loaded: scheduler ${mib(r.loaded.schedulerRssMiB)} (heap used ${mib(r.loaded.heapUsedMiB)}), ` +
      `etcd ${mib(r.loaded.etcdRssMiB)} (db ${mib(r.loaded.dbMiB)}); peak: scheduler ${mib(r.untilEmpty.schedulerPeakMiB)}, etcd ${mib(r.untilEmpty.etcdPeakMiB)}`,
  ].join('\n');
}

export function steadySummary(r: SteadyResult): string {
  const l = r.latenessMs;
  return [
    `steady: ${fmt(r.jobs)} ${r.target} jobs @every 1s × ${r.seconds} ticks (offered ${fmt(r.offeredPerSecond)} triggers/s), ${r.streams} streams`,
    ...warning(r.valid),
    schedulingLine(r.scheduling, r.jobs),
    `  delivered ${fmt(r.triggers)} of ${fmt(r.expected)}, the last ${fmt(r.lastTriggerAfterStartS, 2)} s after the first tick (the last tick: ${r.seconds - 1} s)`,
    `  lateness ms, each trigger against its own tick: p50 ${fmt(l.p50, 1)}, p99 ${fmt(l.p99, 1)}, max ${fmt(l.max, 1)}`,
    `  delivered per second: ${r.perSecond.join(' ')}`,
    cpuLine('delivering', r.delivering, r.triggers, 'trigger'),
    `  etcd empty again ${fmt(r.etcdEmptyAfterLastTickMs / 1000, 2)} s after the last tick (left: ${r.leftInEtcd.jobs} jobs, ${r.leftInEtcd.counters} counters); RSS scheduler ${mib(r.delivering.schedulerRssMiB)}, etcd ${mib(r.delivering.etcdRssMiB)}`,
  ].join('\n');
}

export function loadSummary(r: LoadResult): string {
  const { idle, loaded, restart } = r;
  return [
    `load: ${fmt(r.jobs)} ${r.target} jobs due in an hour, scheduled at ${fmt(r.scheduling.perSecond)} jobs/s`,
    `  RSS idle: scheduler ${mib(idle.schedulerRssMiB)}, etcd ${mib(idle.etcdRssMiB)}; loaded: scheduler ${mib(loaded.schedulerRssMiB)} (heap used ${mib(loaded.heapUsedMiB)}), ` +
      `etcd ${mib(loaded.etcdRssMiB)} (db ${mib(loaded.dbMiB)}); peak: scheduler ${mib(loaded.schedulerPeakMiB)}, etcd ${mib(loaded.etcdPeakMiB)}`,
    `  restarted on the same data: healthy after ${fmt(restart.healthyAfterMs / 1000, 2)} s, owning every job after ${fmt(restart.owningAfterMs / 1000, 2)} s; ` +
      `RSS scheduler ${mib(restart.schedulerRssMiB)} (heap used ${mib(restart.heapUsedMiB)}, peak ${mib(restart.schedulerPeakMiB)}), etcd ${mib(restart.etcdRssMiB)}`,
  ].join('\n');
}
