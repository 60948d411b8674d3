// `--workers` bounds the triggers awaiting an ack, as Dapr's go-etcd-cron workers do (docs/scheduler.md): due jobs
// beyond the bound wait, oldest first, and go out as acks free room; a stream that never acks holds its share only.
import { waitFor } from '@tapr/lib/testing';
import { TestEtcd, call, jobMeta, schedulerClient, startInProcess, JobWatcher, type InProcessScheduler } from './harness.js';

const ns = 'default';
let etcd: TestEtcd;
let scheduler: InProcessScheduler;
let client: ReturnType<typeof schedulerClient>;

beforeAll(async () => {
  etcd = await new TestEtcd().start();
  scheduler = await startInProcess({ etcd: etcd.endpoint, workers: 2 });
  client = schedulerClient(scheduler.address);
});

afterAll(async () => {
  client?.close();
  await scheduler?.stop();
  await etcd?.stop();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('sends at most --workers triggers before acks arrive, then the rest in due-time order as they are acked', async () => {
  const app = 'bounded';
  const watcher = new JobWatcher(client, { appId: app, namespace: ns }, () => 'NONE');
  await waitFor(() => scheduler.service.pool.size > 0 || undefined, { what: 'stream registered' });
  // Due one after another, so the order they are sent in can be checked.
  for (let i = 0; i < 5; i++) await call(client, 'ScheduleJob', { name: `j${i}`, job: { dueTime: `${i * 20}ms` }, metadata: jobMeta(ns, app) });
  await waitFor(() => watcher.triggers.length >= 2 || undefined, { what: 'first two triggers' });
  await pause(800);
  expect(watcher.names()).toEqual(['j0', 'j1']);

  watcher.stream.write({ result: { id: watcher.triggers[0]!.id } });
  await waitFor(() => watcher.triggers.length >= 3 || undefined, { what: 'a third trigger after one ack' });
  await pause(300);
  expect(watcher.names()).toEqual(['j0', 'j1', 'j2']);

  watcher.setAnswer(() => 'SUCCESS');
  for (const trigger of watcher.triggers.slice(1)) watcher.stream.write({ result: { id: trigger.id } });
  await waitFor(() => watcher.triggers.length >= 5 || undefined, { what: 'every trigger' });
  await pause(300);
  expect(watcher.names()).toEqual(['j0', 'j1', 'j2', 'j3', 'j4']);
  watcher.close();
});
