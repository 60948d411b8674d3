// The Scheduler API against a real etcd, as daprd calls it (docs/scheduler-spec.md §3, §5): job identity and
// scoping, validation, overwrite, listing and prefix deletes, and the WatchJobs stream — routing, acks, failure
// policies, repeats, and jobs kept for a sidecar that is not connected yet.
import { status, type ServiceError } from '@grpc/grpc-js';
import { waitFor } from '@tapr/lib/testing';
import { TestEtcd, actorMeta, call, jobMeta, schedulerClient, startInProcess, JobWatcher, watchHosts, type InProcessScheduler } from './harness.js';

const ns = 'default';
let etcd: TestEtcd;
let scheduler: InProcessScheduler;
let client: ReturnType<typeof schedulerClient>;
let n = 0;
/** A fresh app id per test, so tests never see each other's jobs. */
const newApp = () => `app${++n}-${Date.now().toString(36)}`;

const rejection = async (promise: Promise<unknown>): Promise<ServiceError> => {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
};

const valueAny = (json: string) => ({ type_url: 'type.googleapis.com/google.protobuf.StringValue', value: Buffer.from(json) });

beforeAll(async () => {
  etcd = await new TestEtcd().start();
  scheduler = await startInProcess({ etcd: etcd.endpoint });
  client = schedulerClient(scheduler.address);
});

afterAll(async () => {
  client?.close();
  await scheduler?.stop();
  await etcd?.stop();
});

describe('scheduling jobs', () => {
  it('stores a job as given, with Dapr’s default failure policy, and returns it by name', async () => {
    const app = newApp();
    await call(client, 'ScheduleJob', { name: 'nightly', job: { schedule: '0 0 3 * * *', ttl: '72h', repeats: 5, data: valueAny('"x"') }, metadata: jobMeta(ns, app) });
    const { job } = await call<{ job: Record<string, unknown> }>(client, 'GetJob', { name: 'nightly', metadata: jobMeta(ns, app) });
    expect(job).toMatchObject({ schedule: '0 0 3 * * *', ttl: '72h', repeats: 5, failurePolicy: { constant: { interval: { seconds: '1' }, maxRetries: 3 } } });
    expect(job['dueTime']).toBeUndefined();
    expect(Buffer.from((job['data'] as { value: Buffer }).value).toString()).toBe('"x"');
  });

  it('refuses a second job of the same name unless told to overwrite (AlreadyExists, with the full key)', async () => {
    const app = newApp();
    const request = { name: 'once', job: { dueTime: '1h' }, metadata: jobMeta(ns, app) };
    await call(client, 'ScheduleJob', request);
    const err = await rejection(call(client, 'ScheduleJob', request));
    expect(err.code).toBe(status.ALREADY_EXISTS);
    expect(err.details).toBe(`job already exists: 'app||${ns}||${app}||once'`);
    await call(client, 'ScheduleJob', { ...request, job: { dueTime: '2h' }, overwrite: true });
    const { job } = await call<{ job: { dueTime: string } }>(client, 'GetJob', { name: 'once', metadata: jobMeta(ns, app) });
    expect(job.dueTime).toBe('2h');
  });

  it('answers NotFound for an unknown job and deletes idempotently', async () => {
    const app = newApp();
    const err = await rejection(call(client, 'GetJob', { name: 'nope', metadata: jobMeta(ns, app) }));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toBe('job not found: nope');
    await call(client, 'DeleteJob', { name: 'nope', metadata: jobMeta(ns, app) });
    await call(client, 'ScheduleJob', { name: 'gone', job: { dueTime: '1h' }, metadata: jobMeta(ns, app) });
    await call(client, 'DeleteJob', { name: 'gone', metadata: jobMeta(ns, app) });
    expect((await rejection(call(client, 'GetJob', { name: 'gone', metadata: jobMeta(ns, app) }))).code).toBe(status.NOT_FOUND);
  });

  it.each([
    [{}, 'job failed validation: job must have either a due time or a schedule'],
    [{ dueTime: '1h', repeats: 3 }, 'job failed validation: job must have a schedule to repeat'],
    [{ schedule: '* * * * *' }, 'job failed validation: expected exactly 6 fields, found 5: [* * * * *]'],
    [{ dueTime: 'tomorrow' }, 'job failed validation: due time format not recognized'],
  ])('rejects %j as Dapr does (Unknown, go-etcd-cron’s text)', async (job, message) => {
    const err = await rejection(call(client, 'ScheduleJob', { name: 'bad', job, metadata: jobMeta(ns, newApp()) }));
    expect(err.code).toBe(status.UNKNOWN);
    expect(err.details).toBe(message);
  });

  it('rejects requests without namespace or app id, without a target, or with a name that is not a valid key', async () => {
    const missing = await rejection(call(client, 'ScheduleJob', { name: 'x', job: { dueTime: '1h' }, metadata: { namespace: ns, target: { job: {} } } }));
    expect(missing.code).toBe(status.INVALID_ARGUMENT);
    expect(missing.details).toBe('missing namespace or appID in request');
    const untargeted = await rejection(call(client, 'ScheduleJob', { name: 'x', job: { dueTime: '1h' }, metadata: { namespace: ns, appId: 'a' } }));
    expect(untargeted.code).toBe(status.UNKNOWN);
    expect(untargeted.details).toMatch(/^unknown job type/);
    const badName = await rejection(call(client, 'ScheduleJob', { name: 'no/slashes', job: { dueTime: '1h' }, metadata: jobMeta(ns, newApp()) }));
    expect(badName.code).toBe(status.UNKNOWN);
    expect(badName.details).toMatch(/^job name is invalid/);
  });
});

describe('listing and deleting by prefix', () => {
  it('lists a target’s jobs with names and metadata rebuilt from the key (reminders carry no app id)', async () => {
    const app = newApp();
    for (const name of ['b', 'a']) await call(client, 'ScheduleJob', { name, job: { dueTime: '1h' }, metadata: jobMeta(ns, app) });
    await call(client, 'ScheduleJob', { name: 'r1', job: { schedule: '@every 1h' }, metadata: actorMeta(ns, app, `T${app}`, 'id1') });
    const jobs = await call<{ jobs: { name: string; metadata: object }[] }>(client, 'ListJobs', { metadata: jobMeta(ns, app) });
    expect(jobs.jobs.map((j) => j.name)).toEqual(['a', 'b']);
    expect(jobs.jobs[0]!.metadata).toMatchObject({ appId: app, namespace: ns, target: { job: {} } });
    const reminders = await call<{ jobs: { name: string; metadata: { appId?: string } }[] }>(client, 'ListJobs', { metadata: actorMeta(ns, app, `T${app}`, '') });
    expect(reminders.jobs.map((j) => j.name)).toEqual(['r1']);
    expect(reminders.jobs[0]!.metadata).toMatchObject({ namespace: ns, target: { actor: { type: `T${app}`, id: 'id1' } } });
    expect(reminders.jobs[0]!.metadata.appId ?? '').toBe('');
  });

  it('deletes an actor’s reminders, ids by prefix when asked, and an app’s jobs by name prefix', async () => {
    const app = newApp();
    const type = `T${app}`;
    for (const id of ['x1', 'x10', 'y']) await call(client, 'ScheduleJob', { name: 'r', job: { dueTime: '1h' }, metadata: actorMeta(ns, app, type, id) });
    await call(client, 'DeleteByMetadata', { metadata: actorMeta(ns, app, type, 'x1') });
    const ids = async () =>
      (await call<{ jobs: { metadata: { target: { actor: { id: string } } } }[] }>(client, 'ListJobs', { metadata: actorMeta(ns, app, type, '') })).jobs.map(
        (j) => j.metadata.target.actor.id,
      );
    expect(await ids()).toEqual(['x10', 'y']);
    await call(client, 'DeleteByMetadata', { metadata: actorMeta(ns, app, type, 'x'), idPrefixMatch: true });
    expect(await ids()).toEqual(['y']);

    for (const name of ['keep', 'tmp-1', 'tmp-2']) await call(client, 'ScheduleJob', { name, job: { dueTime: '1h' }, metadata: jobMeta(ns, app) });
    await call(client, 'DeleteByNamePrefix', { namePrefix: 'tmp-', metadata: jobMeta(ns, app) });
    const names = (await call<{ jobs: { name: string }[] }>(client, 'ListJobs', { metadata: jobMeta(ns, app) })).jobs.map((j) => j.name);
    expect(names).toEqual(['keep']);
  });
});

describe('triggering', () => {
  it('sends a due job to its app’s stream with ids from 1, its data and metadata, and deletes a one-shot job once acknowledged', async () => {
    const app = newApp();
    const watcher = new JobWatcher(client, { appId: app, namespace: ns });
    await waitFor(() => scheduler.service.pool.size > 0 || undefined, { what: 'stream registered' });
    const scheduledAt = Date.now();
    await call(client, 'ScheduleJob', { name: 'ping', job: { dueTime: '1s', data: valueAny('{"n":1}') }, metadata: jobMeta(ns, app) });
    await waitFor(() => watcher.triggers.length > 0 || undefined, { what: 'trigger', timeoutMs: 10_000 });
    const [trigger] = watcher.triggers;
    expect(trigger).toMatchObject({ name: 'ping', id: '1', metadata: { appId: app, namespace: ns } });
    expect(Buffer.from(trigger!.data!.value!).toString()).toBe('{"n":1}');
    expect(trigger!.at - scheduledAt).toBeGreaterThanOrEqual(900);
    await waitFor(async () => (await rejection(call(client, 'GetJob', { name: 'ping', metadata: jobMeta(ns, app) }))).code === status.NOT_FOUND || undefined, {
      what: 'one-shot job deleted after its trigger',
    });
    watcher.close();
  });

  it('stops after `repeats` triggers, one per schedule tick', async () => {
    const app = newApp();
    const watcher = new JobWatcher(client, { appId: app, namespace: ns });
    await call(client, 'ScheduleJob', { name: 'thrice', job: { schedule: '@every 1s', repeats: 3 }, metadata: jobMeta(ns, app) });
    await waitFor(async () => (await rejection(call(client, 'GetJob', { name: 'thrice', metadata: jobMeta(ns, app) }))).code === status.NOT_FOUND || undefined, {
      what: 'job finished',
      timeoutMs: 15_000,
    });
    expect(watcher.names()).toEqual(['thrice', 'thrice', 'thrice']);
    const gaps = watcher.triggers.slice(1).map((t, i) => t.at - watcher.triggers[i]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThan(500);
    watcher.close();
  });

  it('retries a failed trigger by its constant policy, and drops it with the drop policy', async () => {
    const app = newApp();
    const watcher = new JobWatcher(client, { appId: app, namespace: ns }, () => 'FAILED');
    await call(client, 'ScheduleJob', {
      name: 'retry',
      job: { dueTime: '0s', failurePolicy: { constant: { interval: { nanos: 200_000_000 }, maxRetries: 2 } } },
      metadata: jobMeta(ns, app),
    });
    await call(client, 'ScheduleJob', { name: 'drop', job: { dueTime: '0s', failurePolicy: { drop: {} } }, metadata: jobMeta(ns, app) });
    await waitFor(async () => (await rejection(call(client, 'GetJob', { name: 'retry', metadata: jobMeta(ns, app) }))).code === status.NOT_FOUND || undefined, {
      what: 'retries used up',
      timeoutMs: 10_000,
    });
    const count = (name: string) => watcher.names().filter((x) => x === name).length;
    expect(count('retry')).toBe(3);
    expect(count('drop')).toBe(1);
    const retries = watcher.triggers.filter((t) => t.name === 'retry');
    // Retries are due at tick + interval × attempt (200 ms, then 400 ms after the tick).
    expect(retries[2]!.at - retries[0]!.at).toBeGreaterThanOrEqual(300);
    watcher.close();
  });

  it('takes turns among an app’s streams, and routes reminders only to streams hosting the actor type', async () => {
    const app = newApp();
    const a = new JobWatcher(client, { appId: app, namespace: ns, acceptJobTypes: ['JOB_TARGET_TYPE_JOB'] });
    const b = new JobWatcher(client, { appId: app, namespace: ns, acceptJobTypes: ['JOB_TARGET_TYPE_JOB'] });
    const actors = new JobWatcher(client, { appId: `${app}-other`, namespace: ns, actorTypes: ['Robot'], acceptJobTypes: ['JOB_TARGET_TYPE_ACTOR_REMINDER'] });
    await waitFor(() => scheduler.service.pool.size >= 3 || undefined, { what: 'streams registered' });
    for (let i = 0; i < 6; i++) await call(client, 'ScheduleJob', { name: `j${i}`, job: { dueTime: '0s' }, metadata: jobMeta(ns, app) });
    await call(client, 'ScheduleJob', { name: 'wake', job: { dueTime: '0s' }, metadata: actorMeta(ns, app, 'Robot', 'r2') });
    await waitFor(() => a.triggers.length + b.triggers.length === 6 && actors.triggers.length === 1 || undefined, { what: 'all delivered' });
    expect(a.triggers.length).toBe(3);
    expect(b.triggers.length).toBe(3);
    expect(actors.triggers[0]).toMatchObject({ name: 'wake', metadata: { target: { actor: { type: 'Robot', id: 'r2' } } } });
    for (const w of [a, b, actors]) w.close();
  });

  it('keeps a job due while no sidecar of its app is connected, and delivers it when one connects', async () => {
    const app = newApp();
    await call(client, 'ScheduleJob', { name: 'waiting', job: { dueTime: '0s' }, metadata: jobMeta(ns, app) });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const watcher = new JobWatcher(client, { appId: app, namespace: ns });
    await waitFor(() => watcher.triggers.length > 0 || undefined, { what: 'parked job delivered on connect' });
    expect(watcher.names()).toEqual(['waiting']);
    watcher.close();
  });

  it('hands an unacknowledged trigger to another stream when its stream closes', async () => {
    const app = newApp();
    const silent = new JobWatcher(client, { appId: app, namespace: ns }, () => 'NONE');
    await waitFor(() => scheduler.service.pool.size > 0 || undefined, { what: 'stream registered' });
    await call(client, 'ScheduleJob', { name: 'handover', job: { dueTime: '0s' }, metadata: jobMeta(ns, app) });
    await waitFor(() => silent.triggers.length > 0 || undefined, { what: 'first delivery' });
    const other = new JobWatcher(client, { appId: app, namespace: ns });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(other.triggers).toHaveLength(0);
    silent.close();
    await waitFor(() => other.triggers.length > 0 || undefined, { what: 'redelivered to the other stream' });
    expect(other.names()).toEqual(['handover']);
    other.close();
  });

  it('closes a stream whose first message is not the initial request, or that acknowledges an id it was not sent', async () => {
    const first = new JobWatcher(client, { appId: newApp(), namespace: ns });
    first.stream.write({ result: { id: 99, status: 'SUCCESS' } });
    await waitFor(() => first.closed || undefined, { what: 'stream closed on a bad ack' });
    const stream = (client as unknown as { WatchJobs(): import('@grpc/grpc-js').ClientDuplexStream<object, object> }).WatchJobs();
    const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    stream.write({ result: { id: 1, status: 'SUCCESS' } });
    const err = await ended;
    expect(err.details).toBe('initial request is required on stream connection');
  });
});

describe('WatchHosts', () => {
  it('sends this replica’s advertised address at once', async () => {
    const hosts = watchHosts(client);
    await waitFor(() => hosts.messages.length > 0 || undefined, { what: 'first hosts message' });
    expect(hosts.messages[0]).toEqual([scheduler.address]);
    hosts.cancel();
  });
});
