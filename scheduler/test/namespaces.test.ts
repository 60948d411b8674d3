// Kubernetes mode against the real API server: deleting a namespace removes its jobs and reminders
// (docs/scheduler-spec.md §3.9), and the jobs of other namespaces stay.
import { createTestNamespace, createTestTrustBundle, issueTestSvid, kubectl, testCluster, waitFor } from '@tapr/lib/testing';
import type { SpiffeId } from '@tapr/lib/security/spiffe';
// Loaded here first: jest's ES module loader cannot resolve node built-ins inside app.ts' dynamic import of it.
import '../src/namespaceCleaner.js';
import { TestEtcd, actorMeta, call, jobMeta, schedulerClient, startInProcess, type InProcessScheduler } from './harness.js';

const serverId: SpiffeId = { trustDomain: 'cluster.local', namespace: 'dapr-system', appId: 'dapr-scheduler' };
let etcd: TestEtcd;
let scheduler: InProcessScheduler;

beforeAll(async () => {
  etcd = await new TestEtcd().start();
  const bundle = await createTestTrustBundle('cluster.local');
  scheduler = await startInProcess({ etcd: etcd.endpoint, svid: await issueTestSvid(bundle, serverId), kubeconfig: testCluster().kubeconfig });
  // The same bundle signs the callers: one per namespace.
  (globalThis as { bundle?: typeof bundle }).bundle = bundle;
});

afterAll(async () => {
  await scheduler?.stop();
  await etcd?.stop();
});

it('removes a deleted namespace’s jobs and reminders, and keeps the others', async () => {
  const bundle = (globalThis as { bundle?: Awaited<ReturnType<typeof createTestTrustBundle>> }).bundle!;
  const doomed = await createTestNamespace('sched-doomed');
  const kept = await createTestNamespace('sched-kept');
  const clientFor = async (namespace: string) =>
    schedulerClient(scheduler.address, { bundle, svid: await issueTestSvid(bundle, { trustDomain: 'cluster.local', namespace, appId: 'app' }), serverId });
  const [doomedClient, keptClient] = await Promise.all([clientFor(doomed), clientFor(kept)]);
  await call(doomedClient, 'ScheduleJob', { name: 'j', job: { dueTime: '1h' }, metadata: jobMeta(doomed, 'app') });
  await call(doomedClient, 'ScheduleJob', { name: 'r', job: { dueTime: '1h' }, metadata: actorMeta(doomed, 'app', 'T', 'a') });
  await call(keptClient, 'ScheduleJob', { name: 'j', job: { dueTime: '1h' }, metadata: jobMeta(kept, 'app') });

  expect((await kubectl(['delete', 'namespace', doomed, '--wait=true', '--timeout=60s'])).code).toBe(0);
  await waitFor(
    async () => {
      const jobs = await call<{ jobs?: unknown[] }>(doomedClient, 'ListJobs', { metadata: jobMeta(doomed, 'app') });
      const reminders = await call<{ jobs?: unknown[] }>(doomedClient, 'ListJobs', { metadata: actorMeta(doomed, 'app', 'T', '') });
      // An empty list arrives as a message without the field.
      return (jobs.jobs ?? []).length === 0 && (reminders.jobs ?? []).length === 0 ? true : undefined;
    },
    { what: 'the deleted namespace’s jobs to go', timeoutMs: 30_000 },
  );
  const left = await call<{ jobs: { name: string }[] }>(keptClient, 'ListJobs', { metadata: jobMeta(kept, 'app') });
  expect(left.jobs.map((j) => j.name)).toEqual(['j']);
  expect(scheduler.service.readiness.healthy).toBe(true);
  doomedClient.close();
  keptClient.close();
  await kubectl(['delete', 'namespace', kept, '--wait=false']);
});
