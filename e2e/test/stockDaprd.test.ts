// Dapr's own sidecar against tapr: the chart's four services run as the local target runs them, annotated
// Deployments get their pods injected by tapr's injector, and the daprd container of each pod is the stock daprd
// (built from github.com/dapr/dapr, see lib/testing/build-binaries.sh) started from the pod's spec by the local
// kubelet. Redis is Debian's redis-server. Each test names one thing a Dapr user relies on.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppsV1Api, type V1Pod } from '@kubernetes/client-node';
import { adminKubeConfig, createTestNamespace, deleteTestNamespace, kubectl, testCluster, waitFor } from '@tapr/lib/testing';
import { LocalControlPlane } from '../src/localControlPlane.js';
import { RedisServer } from '../src/redisServer.js';
import { StockDaprd, stockDaprdBinary } from '../src/stockDaprd.js';
import { TestApp, type TestAppOptions } from '../src/testApp.js';
import { workloadSvid } from '../src/workload.js';
import { HashRing, defaultReplicationFactor } from '@tapr/lib/placement/ring';

interface DaprdMetadata {
  id: string;
  components: Array<{ name: string; type: string }>;
  subscriptions: Array<{ pubsubname: string; topic: string; type: string }>;
  actorRuntime?: { runtimeStatus: string; hostReady: boolean; placement: string; activeActors?: Array<{ type: string; count: number }> };
}

const describeLocal = (process.env['TAPR_E2E_TARGET'] ?? 'local') === 'local' ? describe : describe.skip;

describeLocal('the stock daprd against tapr (local)', () => {
  let controlPlane: LocalControlPlane;
  let redis: RedisServer;
  let appNamespace: string;
  let workDir: string;
  const sidecars: StockDaprd[] = [];
  const apps: TestApp[] = [];
  const runLabel = `r${Math.random().toString(36).slice(2, 8)}`;
  const apply = async (yaml: string) => {
    const result = await kubectl(['apply', '-f', '-'], { input: yaml });
    if (result.code !== 0) throw new Error(`kubectl apply failed: ${result.stderr}`);
  };

  // Name resolution without cluster DNS: Dapr's SQLite resolver, one database file shared by the sidecars here
  // (docs/stock-daprd.md says why).
  const configuration = (name: string, hotReload: boolean) => `
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: {name: ${name}, namespace: ${appNamespace}}
spec:
  features: [{name: HotReload, enabled: ${hotReload}}]
  nameResolution:
    component: sqlite
    configuration:
      connectionString: ${path.join(workDir, 'nameresolution.db')}
      # The resolver's clean-up (hourly by default) is off: docs/stock-daprd.md, "Name resolution".
      cleanupInterval: "0"
`;
  const inMemoryStore = (name: string, scopes: string[]) => `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: ${name}, namespace: ${appNamespace}}
spec: {type: state.in-memory, version: v1, metadata: []}
scopes: [${scopes.join(', ')}]
`;

  /** An annotated Deployment of one replica, its injected pod, a test app and the pod's stock daprd. */
  async function deploy(appId: string, annotations: Record<string, string> = {}, app: Partial<TestAppOptions> = {}) {
    const testApp = await TestApp.start({ name: appId, ...app });
    apps.push(testApp);
    await adminKubeConfig().makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: appNamespace,
      body: {
        metadata: { name: appId },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: appId } },
          template: {
            metadata: {
              labels: { app: appId },
              annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': appId, 'dapr.io/app-port': '8080', 'dapr.io/config': 'appconfig', ...annotations },
            },
            spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', ports: [{ containerPort: 8080 }] }] },
          },
        },
      },
    });
    const pod = await controlPlane.kubelet.waitForPod(appNamespace, `app=${appId}`);
    const daprd = await StockDaprd.start({
      kubelet: controlPlane.kubelet,
      pod,
      server: testCluster().server,
      appPort: testApp.port,
      controlPlane: controlPlane.sidecarAddresses(),
    });
    sidecars.push(daprd);
    return { pod, daprd, app: testApp };
  }

  beforeAll(async () => {
    const binary = stockDaprdBinary();
    expect(binary.version).toMatch(/^1\.17\.\d+$/);
    workDir = mkdtempSync(path.join(tmpdir(), 'tapr-e2e-daprd-'));
    redis = await RedisServer.start(path.join(workDir, 'redis'));
    const namespace = await createTestNamespace('tapr-daprd-system');
    appNamespace = await createTestNamespace('tapr-daprd-app', { 'tapr.dev/e2e-daprd': runLabel });
    controlPlane = new LocalControlPlane({
      kubeConfig: adminKubeConfig(),
      kubeconfigFile: testCluster().kubeconfig,
      server: testCluster().server,
      namespace,
      webhookNamespaceLabel: { key: 'tapr.dev/e2e-daprd', value: runLabel },
      secretReaderNamespace: appNamespace,
      workDir: path.join(workDir, 'control-plane'),
    });
    try {
      await controlPlane.start();
    } catch (error) {
      await controlPlane.stop();
      throw error;
    }
    await apply(`${configuration('appconfig', false)}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore, namespace: ${appNamespace}}
spec:
  type: state.redis
  version: v1
  metadata:
  - {name: redisHost, value: "${redis.address}"}
  - {name: actorStateStore, value: "true"}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub, namespace: ${appNamespace}}
spec:
  type: pubsub.redis
  version: v1
  metadata:
  - {name: redisHost, value: "${redis.address}"}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: orders, namespace: ${appNamespace}}
spec:
  pubsubname: pubsub
  topic: orders
  routes: {default: /orders}
scopes: [stock-b]
`);
  }, 240_000);

  afterAll(async () => {
    await Promise.all(sidecars.map((d) => d.stop()));
    await Promise.all(apps.map((a) => a.close()));
    const codes = await controlPlane?.stop();
    await redis?.stop();
    if (appNamespace) await deleteTestNamespace(appNamespace);
    if (controlPlane) await deleteTestNamespace(controlPlane.namespace);
    expect(codes).toEqual({ sentry: 0, operator: 0, injector: 0, placement: 0 });
  }, 120_000);

  type Deployed = Awaited<ReturnType<typeof deploy>>;
  let a: Deployed;
  let b: Deployed;
  const metadataOf = async (daprd: StockDaprd) => (await (await daprd.fetch('/v1.0/metadata')).json()) as DaprdMetadata;
  const componentsOf = async (daprd: StockDaprd) =>
    (await metadataOf(daprd)).components.map((c) => `${c.name}=${c.type}`).sort();
  const svidFor = async (pod: V1Pod, id: string) =>
    workloadSvid({
      kubelet: controlPlane.kubelet,
      pod,
      sentryAddress: controlPlane.address('sentry'),
      trustAnchorsPem: await controlPlane.trustAnchors(),
      controlPlane: { trustDomain: 'cluster.local', namespace: controlPlane.namespace },
      id,
    });

  it('gets its workload certificate from tapr’s sentry (SPIFFE ID of its app) and reports healthy', async () => {
    a = await deploy('stock-a');
    // Ready by the pod's own probe: the injector's httpGet on daprd's public port.
    expect(a.daprd.readinessProbeUrl()).toBe(`http://127.0.0.1:${a.daprd.ports.public}/v1.0/healthz`);
    expect((await a.daprd.fetch('/v1.0/healthz')).status).toBe(204);
    expect((await metadataOf(a.daprd)).id).toBe('stock-a');
    // The certificate daprd serves for mTLS is the one sentry signed for it: its app's SPIFFE ID, chained to the
    // trust anchors sentry published (and the injector put into DAPR_TRUST_ANCHORS).
    const chain = await a.daprd.servingChain(await svidFor(a.pod, 'stock-a'));
    expect(chain[0]!.subjectAltName).toContain(`URI:spiffe://public/ns/${appNamespace}/stock-a`);
    const root = new X509Certificate(await controlPlane.trustAnchors());
    expect(chain.at(-1)!.verify(root.publicKey) || chain.at(-1)!.checkIssued(root)).toBe(true);
    expect(a.daprd.output()).toContain('Security is initialized successfully');
  });

  it('loads the Components tapr’s operator serves for its namespace', async () => {
    expect(await componentsOf(a.daprd)).toEqual(expect.arrayContaining(['pubsub=pubsub.redis', 'statestore=state.redis']));
    expect(a.daprd.output()).toContain('Component loaded: statestore (state.redis/v1)');
  });

  it('keeps state through daprd’s HTTP API in Redis under Dapr’s keys (ETags, concurrency, delete, transactions)', async () => {
    const state = (suffix = '', init?: RequestInit) => a.daprd.fetch(`/v1.0/state/statestore${suffix}`, init);
    const save = (items: unknown[]) => state('', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(items) });

    expect((await save([{ key: 'order-1', value: { qty: 1 } }])).status).toBe(204);
    const read = await state('/order-1');
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual({ qty: 1 });
    const etag = read.headers.get('etag');
    expect(etag).toBeTruthy();

    // A write with the current ETag wins; one with the now stale ETag is refused with 409.
    expect((await save([{ key: 'order-1', value: { qty: 2 }, etag }])).status).toBe(204);
    const stale = await save([{ key: 'order-1', value: { qty: 3 }, etag }]);
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { errorCode: string }).errorCode).toBe('ERR_STATE_SAVE');
    expect(await (await state('/order-1')).json()).toEqual({ qty: 2 });

    // First-write concurrency: the first write of a key succeeds, a second one without the ETag is refused.
    const firstWrite = (value: unknown) => save([{ key: 'order-fw', value, options: { concurrency: 'first-write' } }]);
    expect((await firstWrite('one')).status).toBe(204);
    // Dapr's Redis store refuses it in its Lua script, which daprd reports as a failed save (500), not as the 409
    // of an ETag mismatch (Dapr 1.17.5 behaviour, seen here).
    const second = await firstWrite('two');
    expect(second.status).toBe(500);
    expect(((await second.json()) as { errorCode: string }).errorCode).toBe('ERR_STATE_SAVE');
    expect(await (await state('/order-fw')).json()).toBe('one');

    // Delete: a stale If-Match is refused, then the key goes.
    expect((await state('/order-1', { method: 'DELETE', headers: { 'If-Match': etag! } })).status).toBe(409);
    expect((await state('/order-1', { method: 'DELETE' })).status).toBe(204);
    expect((await state('/order-1')).status).toBe(204);

    // A transaction: both operations or neither.
    const transaction = await state('/transaction', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        operations: [
          { operation: 'upsert', request: { key: 'order-tx', value: 'in a transaction' } },
          { operation: 'delete', request: { key: 'order-fw' } },
        ],
      }),
    });
    expect(transaction.status).toBe(204);
    expect(await (await state('/order-tx')).json()).toBe('in a transaction');
    expect((await state('/order-fw')).status).toBe(204);

    // Dapr's key layout in Redis: <app-id>||<key>, a hash with the data and its version (the ETag).
    expect(await redis.keys('stock-a||*')).toEqual(['stock-a||order-tx']);
    const stored = await redis.hash('stock-a||order-tx');
    expect(JSON.parse(stored['data']!)).toBe('in a transaction');
    expect(stored['version']).toMatch(/^\d+$/);
  });

  it('invokes app B from app A through both sidecars over mTLS with sentry’s certificates', async () => {
    b = await deploy('stock-b', {}, { subscriptions: [{ pubsubname: 'pubsub', topic: 'invoices', route: '/invoices' }] });
    expect(a.daprd.running.prepared.argv).toContain('--enable-mtls');
    const response = await waitFor(
      async () => {
        const r = await a.daprd.fetch('/v1.0/invoke/stock-b/method/echo/hello', { method: 'POST', body: 'from a' });
        return r.status === 200 ? r : undefined;
      },
      { what: 'an invocation of stock-b from stock-a', timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(await response.json()).toEqual({ app: 'stock-b', method: 'POST', path: '/echo/hello', body: 'from a' });
    // B's sidecar names the caller from the mTLS peer: the request came from A's sidecar.
    const received = b.app.received('/echo/hello').at(-1)!;
    expect(received.headers['dapr-caller-app-id']).toBe('stock-a');
  });

  it('delivers a message A publishes to B’s declarative (Subscription CRD) and programmatic subscriptions', async () => {
    const publish = (topic: string, body: unknown) =>
      a.daprd.fetch(`/v1.0/publish/pubsub/${topic}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const [topic, route] of [['orders', '/orders'], ['invoices', '/invoices']] as const) {
      const delivered = await waitFor(
        async () => {
          const seen = b.app.received(route).find((r) => JSON.parse(r.body).data?.topic === topic);
          if (seen) return seen;
          expect((await publish(topic, { topic, n: 1 })).status).toBe(204);
          return undefined;
        },
        { what: `B to receive a message on ${topic} at ${route}`, timeoutMs: 30_000, intervalMs: 1000 },
      );
      expect(delivered.headers['content-type']).toContain('application/cloudevents+json');
      const event = JSON.parse(delivered.body);
      expect(event).toMatchObject({ topic, pubsubname: 'pubsub', source: 'stock-a', specversion: '1.0', data: { topic, n: 1 } });
    }
    expect((await metadataOf(b.daprd)).subscriptions.map((s) => `${s.topic}:${s.type}`).sort()).toEqual(['invoices:PROGRAMMATIC', 'orders:DECLARATIVE']);
  });

  it('without the HotReload feature (Dapr 1.17’s default), takes Components created, updated and deleted later only at a restart', async () => {
    const settle = () => new Promise((resolve) => setTimeout(resolve, 3000));
    await apply(inMemoryStore('late-store', ['stock-a']));
    await apply(inMemoryStore('late-gone', ['stock-a']));
    // The operator streams changes at once (the HotReload test shows it); a sidecar without the feature opens no stream.
    await settle();
    expect(await componentsOf(a.daprd)).not.toEqual(expect.arrayContaining(['late-store=state.in-memory']));
    expect(a.daprd.output()).not.toContain('Hot reloading enabled');
    a.daprd = await a.daprd.restart();
    sidecars.push(a.daprd);
    expect(await componentsOf(a.daprd)).toEqual(expect.arrayContaining(['late-gone=state.in-memory', 'late-store=state.in-memory']));

    // An update and a delete are not seen either, until the next restart.
    await apply(`
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: late-store, namespace: ${appNamespace}}
spec:
  type: state.redis
  version: v1
  metadata:
  - {name: redisHost, value: "${redis.address}"}
scopes: [stock-a]
`);
    expect((await kubectl(['delete', 'component', 'late-gone', '-n', appNamespace])).code).toBe(0);
    await settle();
    expect(await componentsOf(a.daprd)).toEqual(expect.arrayContaining(['late-gone=state.in-memory', 'late-store=state.in-memory']));
    a.daprd = await a.daprd.restart();
    sidecars.push(a.daprd);
    const after = await componentsOf(a.daprd);
    expect(after).toContain('late-store=state.redis');
    expect(after.some((c) => c.startsWith('late-gone='))).toBe(false);
  });

  it('with HotReload, applies a Component created, updated and deleted later, and a later Subscription, without a restart', async () => {
    await apply(configuration('hotreload', true));
    const hot = await deploy('stock-hot', { 'dapr.io/config': 'hotreload' });
    expect(hot.daprd.output()).toContain('Hot reloading enabled');
    const save = (store: string, key: string) =>
      hot.daprd.fetch(`/v1.0/state/${store}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ key, value: key }]) });
    const until = (what: string, check: (components: string[]) => boolean) =>
      waitFor(async () => check(await componentsOf(hot.daprd)), { what, timeoutMs: 30_000, intervalMs: 300 });

    await apply(inMemoryStore('hot-store', ['stock-hot']));
    await until('hot-store to be loaded', (c) => c.includes('hot-store=state.in-memory'));
    expect((await save('hot-store', 'k1')).status).toBe(204);

    // Updated: the same name, now Redis; the state lands under Dapr's key in Redis.
    await apply(`
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: hot-store, namespace: ${appNamespace}}
spec:
  type: state.redis
  version: v1
  metadata:
  - {name: redisHost, value: "${redis.address}"}
scopes: [stock-hot]
`);
    await until('hot-store to become state.redis', (c) => c.includes('hot-store=state.redis'));
    expect((await save('hot-store', 'k2')).status).toBe(204);
    expect(await redis.keys('stock-hot||*')).toEqual(['stock-hot||k2']);

    const removed = await kubectl(['delete', 'component', 'hot-store', '-n', appNamespace]);
    expect(removed.code).toBe(0);
    await until('hot-store to be unloaded', (c) => !c.some((name) => name.startsWith('hot-store=')));
    const gone = await save('hot-store', 'k3');
    expect(gone.status).toBe(400);
    expect(((await gone.json()) as { errorCode: string }).errorCode).toBe('ERR_STATE_STORE_NOT_FOUND');

    // A declarative Subscription applied later reaches the sidecar over the operator's SubscriptionUpdate stream.
    await apply(`
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: late-topic, namespace: ${appNamespace}}
spec: {pubsubname: pubsub, topic: late, routes: {default: /late}}
scopes: [stock-hot]
`);
    await waitFor(async () => (await metadataOf(hot.daprd)).subscriptions.some((s) => s.topic === 'late'), {
      what: 'the late Subscription to reach stock-hot',
      timeoutMs: 30_000,
      intervalMs: 300,
    });
    expect(hot.daprd.output()).not.toContain('Subscription HotReloading is not supported');
  });

  let hosts: Deployed[] = [];
  const hostKey = (d: Deployed) => `127.0.0.1:${d.daprd.ports.internal}`;
  const callActor = async (id: string) => {
    const response = await a.daprd.fetch(`/v1.0/actors/Counter/${id}/method/hello`, { method: 'PUT', body: '{}', signal: AbortSignal.timeout(20_000) });
    if (response.status !== 200) throw new Error(`actor call Counter/${id}: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { host: string }).host;
  };

  it('hosts actors: the app registers with tapr’s placement, the table reaches daprd, a call through another sidecar reaches the host', async () => {
    hosts = [await deploy('actor-host-1', {}, { actorTypes: ['Counter'] })];
    await waitFor(async () => (await metadataOf(hosts[0]!.daprd)).actorRuntime?.hostReady === true, { what: 'actor-host-1 to be ready', timeoutMs: 30_000 });
    const runtime = (await metadataOf(hosts[0]!.daprd)).actorRuntime!;
    expect(runtime.runtimeStatus).toBe('RUNNING');
    expect(runtime.placement).toBe('placement: connected');
    expect(await waitFor(() => callActor('c-1').catch(() => undefined), { what: 'an actor call to Counter/c-1', timeoutMs: 30_000, intervalMs: 500 })).toBe('actor-host-1');
    expect(hosts[0]!.app.received('/actors/Counter/c-1/method/hello')).toHaveLength(1);
  });

  it('splits actor ids between two hosts as the consistent-hash ring of the placement table says', async () => {
    hosts.push(await deploy('actor-host-2', {}, { actorTypes: ['Counter'] }));
    const ring = HashRing.build(hosts.map((h) => [hostKey(h), h.app.options.name] as const), { replicationFactor: defaultReplicationFactor });
    const ids = Array.from({ length: 40 }, (_, i) => `counter-${i}`);
    const expected = Object.fromEntries(ids.map((id) => [id, ring.lookup(id)]));
    expect(new Set(Object.values(expected)).size).toBe(2);
    // Until every sidecar holds the two-host table, calls may still go to the first host alone.
    const actual = await waitFor(
      async () => {
        const seen = Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await callActor(id)] as const)));
        return JSON.stringify(seen) === JSON.stringify(expected) ? seen : undefined;
      },
      { what: 'actor calls to land where the ring says', timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(actual).toEqual(expected);
  });

  it('has no scheduler when the chart disables it: the injector leaves the flag out, daprd stays healthy, jobs and reminders fail at once', async () => {
    const daprd = hosts[0]!.daprd;
    expect(daprd.running.prepared.argv.join(' ')).not.toContain('--scheduler-host-address');
    expect(daprd.output()).toContain('No scheduler host addresses provided. Scheduler disabled');
    const job = await daprd.fetch('/v1.0-alpha1/jobs/nightly', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ schedule: '@every 1s', data: 'x' }),
      signal: AbortSignal.timeout(20_000),
    });
    expect(job.status).toBe(500);
    expect(await job.json()).toMatchObject({ errorCode: 'DAPR_SCHEDULER_SCHEDULE_JOB', message: expect.stringContaining('scheduler clients are disabled') });
    const reminder = await daprd.fetch('/v1.0/actors/Counter/c-1/reminders/ping', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dueTime: '1s', period: '1s' }),
      signal: AbortSignal.timeout(20_000),
    });
    // Dapr 1.17 keeps reminders only in the scheduler (no state-store fallback): without one they are refused.
    expect(reminder.status).toBe(500);
    expect(await reminder.json()).toMatchObject({ errorCode: 'ERR_ACTOR_REMINDER_CREATE', message: expect.stringContaining('scheduler clients are disabled') });
    expect((await daprd.fetch('/v1.0/healthz')).status).toBe(204);
    expect(daprd.exited).toBe(false);
  });
});
