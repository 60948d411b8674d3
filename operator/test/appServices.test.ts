// `<app-id>-dapr` Services for Dapr-enabled workloads, against the real API server and garbage collector.
import { AppsV1Api, CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { adminKubeConfig, createTestNamespace, deleteTestNamespace, kubectl, waitFor, type TestTrustBundle } from '@tapr/lib/testing';
import { createTestTrustBundle, startOperator, type RunningOperator } from './harness.js';

const deployment = (ns: string, name: string, annotations: Record<string, string>) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name }, annotations }, spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] } },
  },
});

describe('the app Service reconciler', () => {
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  let bundle: TestTrustBundle;
  let controlPlane: string;
  let ns: string;
  let running: RunningOperator;

  const service = (name: string) => core.readNamespacedService({ name, namespace: ns }).catch(() => undefined);
  const gone = async (name: string) => (await service(name)) === undefined;

  beforeAll(async () => {
    bundle = await createTestTrustBundle();
    [controlPlane, ns] = await Promise.all([createTestNamespace('cp'), createTestNamespace('apps')]);
    running = await startOperator(bundle, { namespace: controlPlane, serviceReconciler: true, leaderElection: true }, {
      leaderElection: { leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 },
    });
    await waitFor(() => running.operator.elector?.leading, { what: 'the operator to lead' });
  });

  afterAll(async () => {
    await running?.stop();
    await Promise.all([deleteTestNamespace(controlPlane), deleteTestNamespace(ns)]);
  });

  describe('when a Deployment’s pod template has dapr.io/enabled: "true"', () => {
    it('creates the headless <app-id>-dapr Service with Dapr’s ports and labels, owned by the Deployment', async () => {
      await apps.createNamespacedDeployment({ namespace: ns, body: deployment(ns, 'orders', { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'orders' }) });
      const created = await waitFor(() => service('orders-dapr'), { what: 'the orders-dapr Service' });
      const owner = await apps.readNamespacedDeployment({ name: 'orders', namespace: ns });
      expect(created.metadata?.labels).toEqual({ 'dapr.io/enabled': 'true' });
      expect(created.metadata?.annotations).toMatchObject({ 'dapr.io/app-id': 'orders', 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' });
      expect(created.metadata?.ownerReferences).toEqual([
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'orders', uid: owner.metadata?.uid, controller: true, blockOwnerDeletion: true },
      ]);
      expect(created.spec?.clusterIP).toBe('None');
      expect(created.spec?.selector).toEqual({ app: 'orders' });
      expect(created.spec?.ports?.map((p) => [p.name, p.port, p.targetPort])).toEqual([
        ['dapr-http', 80, 3500],
        ['dapr-grpc', 50001, 50001],
        ['dapr-internal', 50002, 50002],
        ['dapr-metrics', 9090, 9090],
      ]);
      // The counter moves right after the API call returns; the test may look in between.
      await waitFor(async () => /dapr_operator_service_created_total\{app_id="orders"\} 1/.test(await running.registry.metrics()), { what: 'the created counter' });
    });

    it('puts the Service back when someone deletes it, and follows annotation changes', async () => {
      const before = await waitFor(() => service('orders-dapr'), { what: 'the orders-dapr Service' });
      await core.deleteNamespacedService({ name: 'orders-dapr', namespace: ns });
      const after = await waitFor(async () => {
        const current = await service('orders-dapr');
        return current && current.metadata?.uid !== before.metadata?.uid ? current : undefined;
      }, { what: 'the Service to be recreated' });
      expect(after.spec?.clusterIP).toBe('None');
      const patch = await kubectl(['-n', ns, 'patch', 'deployment', 'orders', '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { annotations: { 'dapr.io/grpc-port': '6001' } } } } })]);
      expect(patch.code).toBe(0);
      await waitFor(async () => (await service('orders-dapr'))?.spec?.ports?.find((p) => p.name === 'dapr-grpc')?.port === 6001, { what: 'the new gRPC port' });
    });
  });

  describe('when the annotation goes away or the workload is deleted', () => {
    it('removes the Service on annotation removal, creates it again when it comes back, and lets GC remove it with the Deployment', async () => {
      await waitFor(() => service('orders-dapr'), { what: 'the orders-dapr Service' });
      const off = await kubectl(['-n', ns, 'patch', 'deployment', 'orders', '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/template/metadata/annotations/dapr.io~1enabled' }])]);
      expect(off.code).toBe(0);
      await waitFor(() => gone('orders-dapr'), { what: 'the Service to be deleted' });
      await waitFor(async () => /dapr_operator_service_deleted_total\{app_id="orders"\} 1/.test(await running.registry.metrics()), { what: 'the deleted counter' });

      const on = await kubectl(['-n', ns, 'patch', 'deployment', 'orders', '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { annotations: { 'dapr.io/enabled': 'true' } } } } })]);
      expect(on.code).toBe(0);
      await waitFor(() => service('orders-dapr'), { what: 'the Service to come back' });

      await apps.deleteNamespacedDeployment({ name: 'orders', namespace: ns, propagationPolicy: 'Background' });
      await waitFor(() => gone('orders-dapr'), { what: 'garbage collection of the Service', timeoutMs: 60_000 });
    });

    it('deletes the old Service when the app id changes', async () => {
      await apps.createNamespacedDeployment({ namespace: ns, body: deployment(ns, 'renamed', { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'first' }) });
      await waitFor(() => service('first-dapr'), { what: 'first-dapr' });
      await kubectl(['-n', ns, 'patch', 'deployment', 'renamed', '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { annotations: { 'dapr.io/app-id': 'second' } } } } })]);
      await waitFor(async () => (await service('second-dapr')) && (await gone('first-dapr')), { what: 'second-dapr to replace first-dapr' });
    });
  });

  describe('when the workload is a StatefulSet', () => {
    it('manages its Service the same way', async () => {
      await apps.createNamespacedStatefulSet({
        namespace: ns,
        body: {
          metadata: { name: 'ledger', namespace: ns },
          spec: {
            replicas: 0,
            serviceName: 'ledger',
            selector: { matchLabels: { app: 'ledger' } },
            template: {
              metadata: { labels: { app: 'ledger' }, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'ledger' } },
              spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
            },
          },
        },
      });
      const created: V1Service = await waitFor(() => service('ledger-dapr'), { what: 'ledger-dapr' });
      expect(created.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'StatefulSet', name: 'ledger', controller: true });
    });
  });

  describe('when a workload is not Dapr-enabled', () => {
    it('creates nothing for it and does not cache it', async () => {
      await apps.createNamespacedDeployment({ namespace: ns, body: deployment(ns, 'plain', { 'dapr.io/app-id': 'plain' }) });
      await waitFor(async () => (await apps.readNamespacedDeployment({ name: 'plain', namespace: ns })).metadata?.uid, { what: 'the Deployment' });
      // The reconciler has seen it when the Deployment informer has moved past its resourceVersion; give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await gone('plain-dapr')).toBe(true);
      const cached = running.operator.reconciler!.informers.find((i) => i.name === 'deployments.apps')!;
      expect(cached.get(ns, 'plain')).toBeUndefined();
    });
  });
});
