// Three scheduler binaries as the chart runs them (docs/scheduler-spec.md §7): each with its embedded etcd member
// of one three-member cluster, sharing the job space. Every job is triggered by exactly one replica; when a
// replica dies its jobs move to the others (after the leadership TTL) and none is lost; jobs survive a restart of
// every replica.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { binaryPaths, freePort, waitFor } from '@tapr/lib/testing';
import { SchedulerProcess, call, jobMeta, schedulerClient, JobWatcher, watchHosts } from './harness.js';

interface Replica {
  id: string;
  port: number;
  healthz: number;
  process: SchedulerProcess;
  client: ReturnType<typeof schedulerClient>;
}

const ns = 'default';
const app = 'ha-app';
let dataRoot: string;
let replicas: Replica[] = [];
let watchers: JobWatcher[] = [];

async function healthy(replica: Replica): Promise<boolean> {
  return (await fetch(`http://127.0.0.1:${replica.healthz}/healthz`).catch(() => undefined))?.status === 200;
}

/** Like daprd: one stream to every replica. */
function connectSidecar(): void {
  for (const w of watchers) w.close();
  watchers = replicas.filter((r) => r.process.child?.exitCode === null).map((r) => new JobWatcher(r.client, { appId: app, namespace: ns }));
}

const delivered = () => watchers.flatMap((w) => w.names());

beforeAll(async () => {
  SchedulerProcess.assertBuilt();
  dataRoot = await mkdtemp(path.join(tmpdir(), 'tapr-scheduler-ha-'));
  const ids = [0, 1, 2].map((i) => `dapr-scheduler-server-${i}`);
  const ports = await Promise.all(ids.map(async () => ({ port: await freePort(), healthz: await freePort(), client: await freePort(), peer: await freePort() })));
  const initialCluster = ids.map((id, i) => `${id}=http://127.0.0.1:${ports[i]!.peer}`).join(',');
  replicas = ids.map((id, i) => {
    const p = ports[i]!;
    const process = new SchedulerProcess([
      `--id=${id}`,
      `--port=${p.port}`,
      '--listen-address=127.0.0.1',
      `--healthz-port=${p.healthz}`,
      '--enable-metrics=false',
      `--etcd-binary=${binaryPaths().etcd}`,
      `--etcd-initial-cluster=${initialCluster}`,
      `--etcd-client-port=${p.client}`,
      `--etcd-data-dir=${path.join(dataRoot, id)}`,
      '--leadership-ttl=3s',
      '--log-level=info',
    ]);
    return { id, port: p.port, healthz: p.healthz, process, client: schedulerClient(`127.0.0.1:${p.port}`) };
  });
  for (const r of replicas) r.process.start();
  await waitFor(async () => (await Promise.all(replicas.map(healthy))).every(Boolean) || undefined, { what: 'three healthy replicas', timeoutMs: 60_000 });
});

afterAll(async () => {
  for (const w of watchers) w.close();
  for (const r of replicas) {
    r.client.close();
    if (r.process.child && r.process.child.exitCode === null) await r.process.kill('SIGTERM');
  }
  await rm(dataRoot, { recursive: true, force: true });
});

describe('three scheduler replicas', () => {
  it('agree on the partitioning and advertise every replica in WatchHosts, in ID order', async () => {
    const streams = replicas.map((r) => watchHosts(r.client));
    const expected = replicas.map((r) => `127.0.0.1:${r.port}`);
    await waitFor(() => streams.every((s) => s.messages.at(-1)?.join() === expected.join()) || undefined, { what: 'all list three hosts', timeoutMs: 30_000 });
    for (const s of streams) s.cancel();
  });

  it('trigger every job exactly once, each from one replica', async () => {
    connectSidecar();
    const names = Array.from({ length: 60 }, (_, i) => `once-${i}`);
    for (const [i, name] of names.entries()) await call(replicas[i % 3]!.client, 'ScheduleJob', { name, job: { dueTime: '2s' }, metadata: jobMeta(ns, app) });
    await waitFor(() => delivered().length >= names.length || undefined, { what: 'all 60 delivered', timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect([...delivered()].sort()).toEqual([...names].sort());
    // The job space is shared: each replica triggered its own part.
    for (const w of watchers) expect(w.triggers.length).toBeGreaterThan(0);
  });

  it('move a killed replica’s jobs to the others, losing none and repeating none', async () => {
    connectSidecar();
    const names = Array.from({ length: 30 }, (_, i) => `after-kill-${i}`);
    for (const name of names) await call(replicas[0]!.client, 'ScheduleJob', { name, job: { dueTime: '4s' }, metadata: jobMeta(ns, app) });
    const killedAt = Date.now();
    await replicas[2]!.process.kill('SIGKILL');
    await waitFor(() => delivered().length >= names.length || undefined, { what: 'all 30 delivered by the two survivors', timeoutMs: 40_000 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect([...delivered()].sort()).toEqual([...names].sort());
    const hosts = watchHosts(replicas[0]!.client);
    await waitFor(() => hosts.messages.at(-1)?.length === 2 || undefined, { what: 'WatchHosts lists the two survivors' });
    hosts.cancel();
    expect(Date.now() - killedAt).toBeGreaterThan(0);
  });

  it('keep jobs across a restart of every replica', async () => {
    await call(replicas[0]!.client, 'ScheduleJob', { name: 'durable', job: { dueTime: '12s' }, metadata: jobMeta(ns, app) });
    await call(replicas[1]!.client, 'ScheduleJob', { name: 'kept', job: { dueTime: '1h' }, metadata: jobMeta(ns, app) });
    for (const w of watchers) w.close();
    watchers = [];
    await Promise.all(replicas.map((r) => (r.process.child?.exitCode === null ? r.process.kill('SIGKILL') : Promise.resolve(null))));
    for (const r of replicas) r.process.start();
    await waitFor(async () => (await Promise.all(replicas.map(healthy))).every(Boolean) || undefined, { what: 'replicas healthy again', timeoutMs: 60_000 });
    const { job } = await call<{ job: { dueTime: string } }>(replicas[2]!.client, 'GetJob', { name: 'kept', metadata: jobMeta(ns, app) }, 30_000);
    expect(job.dueTime).toBe('1h');
    connectSidecar();
    await waitFor(() => delivered().includes('durable') || undefined, { what: 'the job scheduled before the restart fires', timeoutMs: 40_000 });
    expect(delivered().filter((n) => n === 'durable')).toHaveLength(1);
  });
});
