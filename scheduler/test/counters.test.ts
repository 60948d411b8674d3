// What a job's progress leaves in etcd (docs/scheduler-spec.md §7, §8.1): once a job has no further tick, its key and
// its counter are gone, whether the counter was never written (a one-shot job on a new key: the engine then deletes
// the job alone), written by its owner, or left by the job's previous version under the same key.
import { Etcd3 } from 'etcd3';
import { waitFor } from '@tapr/lib/testing';
import { TestEtcd, call, jobMeta, schedulerClient, startInProcess, JobWatcher, type InProcessScheduler } from './harness.js';

const ns = 'default';
let etcd: TestEtcd;
let kv: Etcd3;
let scheduler: InProcessScheduler;
let client: ReturnType<typeof schedulerClient>;
let n = 0;
const newApp = () => `counters${++n}-${Date.now().toString(36)}`;

const counterOf = async (app: string, name: string) => kv.get(`dapr/counters/app||${ns}||${app}||${name}`).string();

/** Keys under dapr/jobs/ and dapr/counters/ for one app's jobs. */
async function stored(app: string): Promise<{ jobs: number; counters: number }> {
  const prefix = `app||${ns}||${app}||`;
  const [jobs, counters] = await Promise.all([kv.getAll().prefix(`dapr/jobs/${prefix}`).count(), kv.getAll().prefix(`dapr/counters/${prefix}`).count()]);
  return { jobs, counters };
}

beforeAll(async () => {
  etcd = await new TestEtcd().start();
  kv = new Etcd3({ hosts: [etcd.endpoint] });
  scheduler = await startInProcess({ etcd: etcd.endpoint });
  client = schedulerClient(scheduler.address);
});

afterAll(async () => {
  client?.close();
  kv?.close();
  await scheduler?.stop();
  await etcd?.stop();
});

describe('a finished job in etcd', () => {
  it('leaves nothing behind when many one-shot jobs finish at once (more than one transaction of writes)', async () => {
    const app = newApp();
    const watcher = new JobWatcher(client, { appId: app, namespace: ns });
    await waitFor(() => scheduler.service.pool.size > 0 || undefined, { what: 'stream registered' });
    const dueTime = new Date(Date.now() + 1500).toISOString();
    await Promise.all(Array.from({ length: 300 }, (_, i) => call(client, 'ScheduleJob', { name: `once-${i}`, job: { dueTime }, metadata: jobMeta(ns, app) })));
    await waitFor(() => watcher.triggers.length === 300 || undefined, { what: '300 triggers', timeoutMs: 15_000 });
    await waitFor(async () => {
      const left = await stored(app);
      return (left.jobs === 0 && left.counters === 0) || undefined;
    }, { what: 'every job and counter deleted', timeoutMs: 15_000 });
    watcher.close();
  });

  it('deletes the counter its owner wrote, and the one an overwritten job left under the same key', async () => {
    const app = newApp();
    const watcher = new JobWatcher(client, { appId: app, namespace: ns });
    await waitFor(() => scheduler.service.pool.size > 0 || undefined, { what: 'stream registered' });
    await call(client, 'ScheduleJob', { name: 'twice', job: { schedule: '@every 1s', dueTime: '0s', repeats: 2 }, metadata: jobMeta(ns, app) });
    await call(client, 'ScheduleJob', { name: 'replaced', job: { schedule: '@every 1h', dueTime: '0s' }, metadata: jobMeta(ns, app) });
    await waitFor(async () => (await counterOf(app, 'replaced')) ?? undefined, { what: 'the counter written after the first trigger' });
    await call(client, 'ScheduleJob', { name: 'replaced', job: { dueTime: '0s' }, metadata: jobMeta(ns, app), overwrite: true });
    await waitFor(async () => {
      const left = await stored(app);
      return (left.jobs === 0 && left.counters === 0) || undefined;
    }, { what: 'both jobs and their counters deleted', timeoutMs: 15_000 });
    expect(watcher.names().sort()).toEqual(['replaced', 'replaced', 'twice', 'twice']);
    watcher.close();
  });
});
