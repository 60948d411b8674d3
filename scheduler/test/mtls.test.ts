// A caller touches only its own jobs (docs/scheduler-spec.md §2): with mTLS the request's namespace and app id
// must be the caller's SPIFFE ID's, for every RPC that names them and for the WatchJobs stream; callers without a
// certificate from the trust anchors do not get a connection at all.
import * as grpc from '@grpc/grpc-js';
import { createTestTrustBundle, issueTestSvid, waitFor, type TestTrustBundle } from '@tapr/lib/testing';
import type { SpiffeId } from '@tapr/lib/security/spiffe';
import { TestEtcd, actorMeta, call, jobMeta, schedulerClient, startInProcess, JobWatcher, type InProcessScheduler } from './harness.js';

const serverId: SpiffeId = { trustDomain: 'cluster.local', namespace: 'dapr-system', appId: 'dapr-scheduler' };
let etcd: TestEtcd;
let bundle: TestTrustBundle;
let scheduler: InProcessScheduler;
let alpha: ReturnType<typeof schedulerClient>;

async function clientAs(id: SpiffeId, trust = bundle) {
  return schedulerClient(scheduler.address, { bundle: trust, svid: await issueTestSvid(trust, id), serverId });
}

const failure = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
};

beforeAll(async () => {
  etcd = await new TestEtcd().start();
  bundle = await createTestTrustBundle('cluster.local');
  scheduler = await startInProcess({ etcd: etcd.endpoint, svid: await issueTestSvid(bundle, serverId) });
  alpha = await clientAs({ trustDomain: 'cluster.local', namespace: 'default', appId: 'alpha' });
});

afterAll(async () => {
  alpha?.close();
  await scheduler?.stop();
  await etcd?.stop();
});

describe('the scheduler with mTLS', () => {
  it('serves a caller’s own jobs', async () => {
    await call(alpha, 'ScheduleJob', { name: 'mine', job: { dueTime: '1h' }, metadata: jobMeta('default', 'alpha') });
    const { job } = await call<{ job: { dueTime: string } }>(alpha, 'GetJob', { name: 'mine', metadata: jobMeta('default', 'alpha') });
    expect(job.dueTime).toBe('1h');
  });

  it.each([
    ['another app', jobMeta('default', 'beta')],
    ['another namespace', jobMeta('prod', 'alpha')],
  ])('refuses every call that names %s (PermissionDenied)', async (_what, metadata) => {
    for (const [method, request] of [
      ['ScheduleJob', { name: 'spoof', job: { dueTime: '1h' }, metadata }],
      ['GetJob', { name: 'mine', metadata }],
      ['DeleteJob', { name: 'mine', metadata }],
      ['ListJobs', { metadata }],
    ] as const) {
      const err = await failure(call(alpha, method, request));
      expect([method, err.code, err.details]).toEqual([method, grpc.status.PERMISSION_DENIED, 'identity does not match request']);
    }
    const byMetadata = await failure(call(alpha, 'DeleteByMetadata', { metadata }));
    expect(byMetadata.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(byMetadata.details).toBe('failed to parse metadata: rpc error: code = PermissionDenied desc = identity does not match request');
    const byPrefix = await failure(call(alpha, 'DeleteByNamePrefix', { namePrefix: '', metadata }));
    expect(byPrefix.code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('lets a caller manage reminders of any actor type in its namespace, as Dapr does', async () => {
    await call(alpha, 'ScheduleJob', { name: 'r', job: { dueTime: '1h' }, metadata: actorMeta('default', 'alpha', 'SomeoneElsesType', 'a1') });
    const listed = await call<{ jobs: unknown[] }>(alpha, 'ListJobs', { metadata: actorMeta('default', 'alpha', 'SomeoneElsesType', '') });
    expect(listed.jobs).toHaveLength(1);
  });

  it('refuses a job stream opened for another app, and sends the caller’s own triggers', async () => {
    const spoof = new JobWatcher(alpha, { appId: 'beta', namespace: 'default' });
    await waitFor(() => spoof.closed || undefined, { what: 'spoofed stream closed' });
    expect(spoof.ended?.code).toBe(grpc.status.PERMISSION_DENIED);
    const own = new JobWatcher(alpha, { appId: 'alpha', namespace: 'default' });
    await call(alpha, 'ScheduleJob', { name: 'now', job: { dueTime: '0s' }, metadata: jobMeta('default', 'alpha') });
    await waitFor(() => own.triggers.some((t) => t.name === 'now') || undefined, { what: 'own trigger' });
    own.close();
  });

  it('gives no connection to a caller without a certificate, or with one from other anchors', async () => {
    const stranger = await createTestTrustBundle('cluster.local');
    const foreign = await clientAs({ trustDomain: 'cluster.local', namespace: 'default', appId: 'alpha' }, stranger);
    // The stranger trusts its own root, so it would refuse our server too: trust ours, present theirs.
    const mixed = schedulerClient(scheduler.address, {
      bundle: { ...bundle, rootPem: bundle.rootPem },
      svid: await issueTestSvid(stranger, { trustDomain: 'cluster.local', namespace: 'default', appId: 'alpha' }),
      serverId,
    });
    const plain = schedulerClient(scheduler.address);
    for (const client of [foreign, mixed, plain]) {
      const err = await failure(call(client, 'GetJob', { name: 'mine', metadata: jobMeta('default', 'alpha') }, 3000));
      expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(err.code);
      client.close();
    }
  });
});
