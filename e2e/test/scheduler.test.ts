// Dapr's own daprd with tapr's scheduler: the chart's three scheduler replicas run as the local target runs them
// (each with its embedded etcd member of one three-member cluster, mTLS with an SVID from tapr's sentry), an
// annotated Deployment's pod gets --scheduler-host-address from tapr's injector, and its stock daprd finds every
// replica through WatchHosts. Then what a Dapr user relies on: the jobs API, actor reminders, a replica dying, and
// every replica restarting. The replicas run with --leadership-ttl=3s (the binary's default is 20 s), so a dead
// replica's jobs move within seconds.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppsV1Api } from '@kubernetes/client-node';
import { adminKubeConfig, createTestNamespace, deleteTestNamespace, kubectl, testCluster, waitFor } from '@tapr/lib/testing';
import { LocalControlPlane } from '../src/localControlPlane.js';
import { StockDaprd, stockDaprdBinary } from '../src/stockDaprd.js';
import { TestApp, type AppRequest } from '../src/testApp.js';

const describeLocal = (process.env['TAPR_E2E_TARGET'] ?? 'local') === 'local' ? describe : describe.skip;

const leadershipTtlMs = 3_000;
const replicaCount = 3;
const appId = 'sched-app';
const actorType = 'Reminded';

describeLocal('the stock daprd with tapr’s scheduler (local)', () => {
  let controlPlane: LocalControlPlane;
  let appNamespace: string;
  let app: TestApp;
  let daprd: StockDaprd;
  const sidecars: StockDaprd[] = [];
  const apps: TestApp[] = [];
  const runLabel = `r${Math.random().toString(36).slice(2, 8)}`;

  const post = (pathname: string, body: unknown) =>
    daprd.fetch(pathname, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  const schedule = (name: string, job: Record<string, unknown>) => post(`/v1.0-alpha1/jobs/${name}`, job);
  const getJob = (name: string) => daprd.fetch(`/v1.0-alpha1/jobs/${name}`, { signal: AbortSignal.timeout(30_000) });
  const deleteJob = (name: string) => daprd.fetch(`/v1.0-alpha1/jobs/${name}`, { method: 'DELETE', signal: AbortSignal.timeout(30_000) });
  const triggers = (name: string) => app.received(`/job/${name}`).filter((r) => r.method === 'POST');
  const reminders = (id: string, name: string) => app.received(`/actors/${actorType}/${id}/method/remind/${name}`).filter((r) => r.method === 'PUT');
  /** Waits (without a fixed sleep) until `count` requests are in, and returns them. */
  const until = (what: string, seen: () => AppRequest[], count: number, timeoutMs = 20_000) =>
    waitFor(() => (seen().length >= count ? seen() : undefined), { what, timeoutMs, intervalMs: 100 });
  /** Lets `ms` pass: only to show that nothing more happens in that time. */
  const quiet = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** One sample from each replica's metrics (NaN for a replica that does not answer). */
  const metric = async (name: string, labels = ''): Promise<number[]> =>
    Promise.all(
      Array.from({ length: replicaCount }, async (_, replica) => {
        const text = await fetch(controlPlane.metricsUrl('scheduler', replica), { signal: AbortSignal.timeout(5_000) })
          .then((r) => r.text())
          .catch(() => '');
        const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `) || (!labels && l.startsWith(`${name}{`)));
        return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
      }),
    );
  /** The hosts daprd last received from WatchHosts (its log line). */
  const lastHosts = () => {
    const lines = daprd.output().match(/Connected and received scheduler hosts addresses: \[[^\]]*\]/g) ?? [];
    return (lines.at(-1)?.replace(/^.*\[|\]$/g, '') ?? '').split(' ').filter(Boolean).sort();
  };
  const replicaAddresses = (replicas = Array.from({ length: replicaCount }, (_, i) => i)) => replicas.map((i) => controlPlane.address('scheduler', i)).sort();

  /** An annotated Deployment of one replica, its injected pod, a test app and the pod's stock daprd. */
  async function deploy(id: string, actorTypes: string[], waitHealthy = true): Promise<{ app: TestApp; daprd: StockDaprd }> {
    const testApp = await TestApp.start({ name: id, actorTypes });
    apps.push(testApp);
    await adminKubeConfig().makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: appNamespace,
      body: {
        metadata: { name: id },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: id } },
          template: {
            metadata: { labels: { app: id }, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': id, 'dapr.io/app-port': '8080' } },
            spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', ports: [{ containerPort: 8080 }] }] },
          },
        },
      },
    });
    const pod = await controlPlane.kubelet.waitForPod(appNamespace, `app=${id}`);
    const sidecar = await StockDaprd.start({ kubelet: controlPlane.kubelet, pod, server: testCluster().server, appPort: testApp.port, controlPlane: controlPlane.sidecarAddresses(), waitHealthy });
    sidecars.push(sidecar);
    return { app: testApp, daprd: sidecar };
  }

  beforeAll(async () => {
    expect(stockDaprdBinary().version).toMatch(/^1\.17\.\d+$/);
    const workDir = mkdtempSync(path.join(tmpdir(), 'tapr-e2e-scheduler-'));
    const namespace = await createTestNamespace('tapr-sched-system');
    appNamespace = await createTestNamespace('tapr-sched-app', { 'tapr.dev/e2e-scheduler': runLabel });
    controlPlane = new LocalControlPlane({
      kubeConfig: adminKubeConfig(),
      kubeconfigFile: testCluster().kubeconfig,
      server: testCluster().server,
      namespace,
      webhookNamespaceLabel: { key: 'tapr.dev/e2e-scheduler', value: runLabel },
      secretReaderNamespace: appNamespace,
      workDir: path.join(workDir, 'control-plane'),
      scheduler: { replicas: replicaCount, leadershipTtl: `${leadershipTtlMs / 1000}s` },
    });
    try {
      await controlPlane.start();
    } catch (error) {
      await controlPlane.stop();
      throw error;
    }
    // The actor runtime's state store (reminders themselves live in the scheduler).
    const store = await kubectl(['apply', '-f', '-'], {
      input: `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: actorstore, namespace: ${appNamespace}}
spec:
  type: state.in-memory
  version: v1
  metadata: [{name: actorStateStore, value: "true"}]
`,
    });
    if (store.code !== 0) throw new Error(`kubectl apply failed: ${store.stderr}`);

    ({ app, daprd } = await deploy(appId, [actorType]));
  }, 240_000);

  afterAll(async () => {
    await Promise.all(sidecars.map((d) => d.stop()));
    await Promise.all(apps.map((a) => a.close()));
    const codes = await controlPlane?.stop();
    if (appNamespace) await deleteTestNamespace(appNamespace);
    if (controlPlane) await deleteTestNamespace(controlPlane.namespace);
    // Every service, every scheduler replica included, stops cleanly on SIGTERM.
    expect(codes).toEqual({ sentry: 0, operator: 0, injector: 0, placement: 0, scheduler: 0 });
  }, 120_000);

  it('is healthy with the scheduler: the injector gave daprd the scheduler Service, WatchHosts named every replica, daprd streams from each', async () => {
    const args = daprd.pod.spec!.containers.find((c) => c.name === 'daprd')!.args!.join(' ');
    expect(args).toContain(`--scheduler-host-address dapr-scheduler-server-a.${controlPlane.namespace}.svc.cluster.local:443`);
    expect(daprd.running.prepared.argv).toContain(controlPlane.sidecarAddresses().scheduler);
    // daprd's /v1.0/healthz includes the scheduler-watch-hosts target (docs/scheduler-spec.md §6): it answered 204
    // (StockDaprd.start waited for it), and daprd logged the replicas' addresses WatchHosts gave it.
    expect((await daprd.fetch('/v1.0/healthz')).status).toBe(204);
    expect(lastHosts()).toEqual(replicaAddresses());
    // daprd opens --scheduler-job-streams (3) WatchJobs streams to every replica.
    const connected = await waitFor(async () => ((await metric('dapr_scheduler_sidecars_connected')).every((n) => n >= 3) ? metric('dapr_scheduler_sidecars_connected') : undefined), {
      what: 'every replica to count daprd’s streams',
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    expect(connected).toEqual([3, 3, 3]);
  });

  it('runs jobs of the jobs API: one-shot on time with its data, read back before it fires, repeats, deletes, refuses a duplicate name', async () => {
    // A one-shot job due in 2 s, with JSON data.
    const scheduledAt = Date.now();
    expect((await schedule('once', { dueTime: '2s', data: { order: 7, note: 'hello' } })).status).toBe(204);
    const read = await getJob('once');
    expect(read.status).toBe(200);
    // daprd answers with the stored Any as protojson renders it: the data as a google.protobuf.Value.
    expect(await read.json()).toMatchObject({
      name: 'once',
      dueTime: '2s',
      data: { '@type': 'type.googleapis.com/google.protobuf.Value', value: { order: 7, note: 'hello' } },
    });
    const [fired] = await until('the app to receive job once', () => triggers('once'), 1);
    const lateness = fired!.at - scheduledAt;
    console.log(`job once: scheduled, then triggered on the app after ${lateness} ms (due after 2000 ms)`);
    expect(lateness).toBeGreaterThanOrEqual(1_900);
    expect(lateness).toBeLessThan(5_000);
    expect(fired!.headers['content-type']).toContain('application/json');
    expect(JSON.parse(fired!.body)).toEqual({ order: 7, note: 'hello' });

    // Repeating: every second, three times, then never again.
    expect((await schedule('thrice', { schedule: '@every 1s', repeats: 3, data: 'tick' })).status).toBe(204);
    const three = await until('three triggers of job thrice', () => triggers('thrice'), 3, 15_000);
    await quiet(2_500);
    expect(triggers('thrice')).toHaveLength(3);
    const gaps = three.slice(1).map((r, i) => r.at - three[i]!.at);
    console.log(`job thrice: gaps between triggers ${gaps.join(', ')} ms`);
    for (const gap of gaps) expect(gap).toBeGreaterThan(500);
    expect(JSON.parse(three[0]!.body)).toBe('tick');

    // Deleted before it is due: never fires; reading it then fails.
    expect((await schedule('cancelled', { dueTime: '3s' })).status).toBe(204);
    expect((await deleteJob('cancelled')).status).toBe(204);
    const gone = await getJob('cancelled');
    expect(gone.status).toBeGreaterThanOrEqual(400);
    const goneBody = await gone.text();
    console.log(`GET of a deleted job: ${gone.status} ${goneBody}`);
    await quiet(4_500);
    expect(triggers('cancelled')).toHaveLength(0);

    // The same name again without overwrite: the scheduler's AlreadyExists, which daprd answers with 409.
    expect((await schedule('dup', { dueTime: '1h', data: 'first' })).status).toBe(204);
    const again = await schedule('dup', { dueTime: '2h', data: 'second' });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ errorCode: 'DAPR_SCHEDULER_SCHEDULE_JOB', message: expect.stringContaining('already exists') });
    expect((await schedule('dup', { dueTime: '2h', data: 'second', overwrite: true })).status).toBe(204);
    expect(await (await getJob('dup')).json()).toMatchObject({ name: 'dup', dueTime: '2h', data: { value: 'second' } });
    expect((await deleteJob('dup')).status).toBe(204);

    // daprd 1.17.5 cannot show a job it scheduled without data: it stores an empty google.protobuf.Value as the
    // data, the scheduler hands it back as stored, and daprd's JSON encoder refuses an empty Value.
    expect((await schedule('bare', { dueTime: '1h' })).status).toBe(204);
    const bare = await getJob('bare');
    expect(bare.status).toBe(500);
    expect(await bare.json()).toMatchObject({ errorCode: 'ERR_INTERNAL', message: expect.stringContaining('google.protobuf.Value: none of the oneof fields is set') });
    expect((await deleteJob('bare')).status).toBe(204);
  }, 120_000);

  it('fires an actor reminder on the actor, and keeps firing it when the replica that owns it is killed', async () => {
    const id = 'r-1';
    const start = await post(`/v1.0/actors/${actorType}/${id}/reminders/ping`, { dueTime: '1s', period: '1s', data: { n: 1 } });
    expect(start.status).toBe(204);
    await until('three reminders on the actor', () => reminders(id, 'ping'), 3);

    // The owner is the replica whose actor triggers go up (the reminder is the only actor job).
    const triggered = () => metric('dapr_scheduler_jobs_triggered_total', 'type="actor"').then((values) => values.map((v) => (Number.isNaN(v) ? 0 : v)));
    const before = await triggered();
    await until('two more reminders', () => reminders(id, 'ping'), reminders(id, 'ping').length + 2);
    const after = await triggered();
    const owners = after.flatMap((n, replica) => (n > before[replica]! ? [replica] : []));
    expect(owners).toHaveLength(1);
    const owner = owners[0]!;

    const killedAt = Date.now();
    await controlPlane.killScheduler(owner);
    const lastBefore = reminders(id, 'ping').at(-1)!.at;
    const survivors = replicaAddresses([0, 1, 2].filter((r) => r !== owner));
    const afterKill = () => reminders(id, 'ping').filter((r) => r.at > killedAt);
    const resumed = await until('reminders after the kill', afterKill, 3, leadershipTtlMs + 30_000);
    const gap = resumed[0]!.at - lastBefore;
    const intervals = resumed.slice(1).map((r, i) => r.at - resumed[i]!.at);
    console.log(
      `reminder failover: replica ${owner} SIGKILLed ${killedAt - lastBefore} ms after the last reminder; the next came ${gap} ms after that one ` +
        `(${resumed[0]!.at - killedAt} ms after the kill, leadership TTL ${leadershipTtlMs} ms); then every ${intervals.join(', ')} ms`,
    );
    expect(gap).toBeLessThan(leadershipTtlMs + 10_000);
    // The survivors re-partitioned and told daprd, which now streams from them alone.
    await waitFor(() => JSON.stringify(lastHosts()) === JSON.stringify(survivors), { what: `daprd to be told the hosts ${survivors.join(' ')}`, timeoutMs: 20_000 });

    // The replica comes back (same pod, data and ports): three hosts again, and the reminder goes on.
    await controlPlane.restartScheduler(owner);
    await waitFor(() => JSON.stringify(lastHosts()) === JSON.stringify(replicaAddresses()), { what: 'daprd to be told all three hosts again', timeoutMs: 30_000 });
    const back = reminders(id, 'ping').length;
    await until('reminders with every replica back', () => reminders(id, 'ping'), back + 2, leadershipTtlMs + 20_000);

    // Deleted: at most the one in flight still arrives.
    const removed = await daprd.fetch(`/v1.0/actors/${actorType}/${id}/reminders/ping`, { method: 'DELETE', signal: AbortSignal.timeout(30_000) });
    expect(removed.status).toBe(204);
    const atDelete = reminders(id, 'ping').length;
    await quiet(3_000);
    expect(reminders(id, 'ping').length).toBeLessThanOrEqual(atDelete + 1);
    const body = JSON.parse(reminders(id, 'ping')[0]!.body) as { data?: unknown };
    expect(body.data).toEqual({ n: 1 });
  }, 180_000);

  it('keeps a job through a restart of every replica; a daprd started while none runs is not ready until they are back', async () => {
    const scheduledAt = Date.now();
    expect((await schedule('durable', { dueTime: '15s', data: { survives: true } })).status).toBe(204);
    await controlPlane.killScheduler();
    const killedAt = Date.now();

    // A new sidecar meanwhile: everything else it needs is there, but its healthz waits for a WatchHosts answer.
    const late = await deploy('sched-late', [], false);
    const probe = late.daprd.readinessProbeUrl();
    const status = async () => (await fetch(probe, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined))?.status;
    await waitFor(async () => (await status()) !== undefined, { what: 'the late daprd to answer its readiness probe', timeoutMs: 30_000, intervalMs: 200 });
    await waitFor(() => late.daprd.output().includes('Failed to connect to scheduler host'), { what: 'the late daprd to try the scheduler', timeoutMs: 30_000 });
    const unready = await status();
    expect(unready).not.toBe(204);
    await quiet(2_000);
    expect(await status()).toBe(unready);
    expect(late.daprd.exited).toBe(false);

    const restartingAt = Date.now();
    await controlPlane.restartScheduler();
    const restartedAt = Date.now();
    await late.daprd.waitHealthy(30_000);
    expect(late.daprd.output()).toContain('Connected and received scheduler hosts addresses');
    console.log(
      `late daprd: readiness probe ${unready} while no replica ran, 204 ${Date.now() - restartedAt} ms after the replicas were ready again`,
    );
    const [fired] = await until('job durable after the restart', () => triggers('durable'), 1, 60_000);
    console.log(
      `restart of every replica: killed ${killedAt - scheduledAt} ms after scheduling, down for ${restartingAt - killedAt} ms, ` +
        `ready ${restartedAt - restartingAt} ms after being started again; ` +
        `the job fired ${fired!.at - scheduledAt} ms after it was scheduled (due after 15000 ms)`,
    );
    expect(fired!.at - scheduledAt).toBeGreaterThanOrEqual(14_900);
    expect(JSON.parse(fired!.body)).toEqual({ survives: true });
    await quiet(2_000);
    expect(triggers('durable')).toHaveLength(1);
    // daprd came through it without a restart and is healthy.
    expect(daprd.exited).toBe(false);
    expect((await daprd.fetch('/v1.0/healthz')).status).toBe(204);
  }, 180_000);
});
