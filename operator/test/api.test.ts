// The Operator gRPC API against the real local API server: namespaces from SPIFFE IDs, scopes, secrets, streams.
import * as grpc from '@grpc/grpc-js';
import { protos } from '@tapr/lib';
import { createTestNamespace, deleteTestNamespace, kubectl, waitFor, type TestTrustBundle } from '@tapr/lib/testing';
import type * as Messages from '../src/api/messages.js';
import { call, createTestTrustBundle, json, operatorClient, startOperator, type OperatorClient, type RunningOperator } from './harness.js';

const { CREATED, UPDATED, DELETED } = protos.operator.ResourceEventType;

const component = (ns: string, name: string, extra: { scopes?: string[]; host?: string; type?: string; secret?: string } = {}) => `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  type: ${extra.type ?? 'state.redis'}
  version: v1
  metadata:
    - name: redisHost
      value: ${extra.host ?? 'redis:6379'}
    - name: redisPassword
      secretKeyRef:
        name: ${extra.secret ?? 'redis'}
        key: password
${extra.scopes ? `scopes: [${extra.scopes.join(', ')}]` : ''}
`;

async function apply(manifest: string): Promise<void> {
  const result = await kubectl(['apply', '-f', '-'], { input: manifest });
  if (result.code !== 0) throw new Error(`kubectl apply failed: ${result.stderr}`);
}

function listComponents(client: OperatorClient, namespace: string) {
  const request = new protos.operator.ListComponentsRequest();
  request.setNamespace(namespace);
  request.setPodname('orders-pod');
  return call<unknown, Messages.ListComponentResponse>(client, 'listComponents', request).then((r) => r.getComponentsList_asU8().map(json));
}

describe('the Operator API', () => {
  let bundle: TestTrustBundle;
  let running: RunningOperator;
  let nsA: string;
  let nsB: string;
  let orders: OperatorClient;
  let billing: OperatorClient;
  let otherNs: OperatorClient;

  beforeAll(async () => {
    bundle = await createTestTrustBundle();
    [nsA, nsB] = await Promise.all([createTestNamespace('ns-a'), createTestNamespace('ns-b')]);
    await kubectl(['-n', nsA, 'create', 'secret', 'generic', 'redis', '--from-literal=password=s3cr3t']);
    await kubectl(['-n', nsB, 'create', 'secret', 'generic', 'redis', '--from-literal=password=other']);
    await apply(component(nsA, 'shared'));
    await apply(component(nsA, 'orders-only', { scopes: ['orders'] }));
    await apply(component(nsA, 'billing-only', { scopes: ['billing'] }));
    await apply(component(nsB, 'b-store'));
    running = await startOperator(bundle);
    orders = await operatorClient(bundle, running, { namespace: nsA, appId: 'orders' });
    billing = await operatorClient(bundle, running, { namespace: nsA, appId: 'billing' });
    otherNs = await operatorClient(bundle, running, { namespace: nsB, appId: 'orders' });
  });

  afterAll(async () => {
    for (const client of [orders, billing, otherNs]) client?.close();
    await running?.stop();
    await Promise.all([deleteTestNamespace(nsA), deleteTestNamespace(nsB)]);
  });

  describe('ListComponents', () => {
    it('returns the caller’s namespace only, filtered by scopes, with Kubernetes secrets resolved', async () => {
      const components = await listComponents(orders, nsA);
      expect(components.map((c) => c['metadata'].name)).toEqual(['orders-only', 'shared']);
      for (const c of components) {
        expect(c['metadata'].namespace).toBe(nsA);
        expect(c['spec'].metadata[1]).toEqual({ name: 'redisPassword', value: Buffer.from('s3cr3t').toString('base64'), secretKeyRef: { name: 'redis', key: 'password' } });
      }
      expect((await listComponents(billing, nsA)).map((c) => c['metadata'].name)).toEqual(['billing-only', 'shared']);
    });

    it('shows a client of another namespace nothing of ns-a, and refuses it ns-a by name', async () => {
      expect((await listComponents(otherNs, nsB)).map((c) => c['metadata'].name)).toEqual(['b-store']);
      await expect(listComponents(otherNs, nsA)).rejects.toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        details: `identity does not match requested namespace exp=${nsA} got=${nsB}`,
      });
    });

    it('rejects clients without a certificate, or with one from another CA', async () => {
      const anonymous = await operatorClient(bundle, running);
      await expect(listComponents(anonymous, nsA)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      anonymous.close();

      const stranger = await createTestTrustBundle();
      const foreign = await operatorClient({ ...bundle, issuer: stranger.issuer } as TestTrustBundle, running, { namespace: nsA, appId: 'orders' });
      await expect(listComponents(foreign, nsA)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      foreign.close();
    });

    it('fails with FAILED_PRECONDITION naming the Secret when a referenced Secret is missing, and records an Event', async () => {
      const ns = await createTestNamespace('missing-secret');
      try {
        await apply(component(ns, 'needs-secret', { secret: 'absent' }));
        const client = await operatorClient(bundle, running, { namespace: ns, appId: 'orders' });
        const error = await waitFor(() => listComponents(client, ns).then(() => undefined, (e: grpc.ServiceError) => e), { what: 'a failed ListComponents' });
        expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
        expect(error.details).toMatch(/Secret "absent" for metadata item "redisPassword" does not exist/);
        client.close();
        const events = await waitFor(async () => {
          const result = await kubectl(['-n', ns, 'get', 'events', '--field-selector', 'involvedObject.name=needs-secret', '-o', 'json']);
          const items = (JSON.parse(result.stdout) as { items: Array<{ reason: string; type: string; involvedObject: { kind: string } }> }).items;
          return items.length > 0 ? items : undefined;
        }, { what: 'a Warning Event on the component' });
        expect(events[0]).toMatchObject({ reason: 'SecretNotResolved', type: 'Warning', involvedObject: { kind: 'Component' } });
      } finally {
        await deleteTestNamespace(ns);
      }
    });
  });

  describe('ComponentUpdate', () => {
    it('streams kubectl apply and delete to subscribed sidecars, scoped per app', async () => {
      const request = new protos.operator.ComponentUpdateRequest();
      request.setNamespace(nsA);
      const ordersEvents: Array<{ type: number; component: Record<string, any> }> = [];
      const billingEvents: typeof ordersEvents = [];
      const ordersStream = orders.componentUpdate(request);
      const billingStream = billing.componentUpdate(request);
      ordersStream.on('data', (e: Messages.ComponentUpdateEvent) => ordersEvents.push({ type: e.getType(), component: json(e.getComponent_asU8()) }));
      billingStream.on('data', (e: Messages.ComponentUpdateEvent) => billingEvents.push({ type: e.getType(), component: json(e.getComponent_asU8()) }));
      ordersStream.on('error', () => undefined);
      billingStream.on('error', () => undefined);
      await waitFor(() => running.operator.hub.count('components') >= 2, { what: 'two connected streams' });

      await apply(component(nsA, 'orders-only', { scopes: ['orders'], host: 'redis-2:6379' }));
      await waitFor(() => ordersEvents.length >= 1, { what: 'the update on the orders stream' });
      expect(ordersEvents[0]).toMatchObject({ type: UPDATED, component: { metadata: { name: 'orders-only' } } });
      expect(ordersEvents[0]!.component['spec'].metadata[0].value).toBe('redis-2:6379');
      expect(ordersEvents[0]!.component['spec'].metadata[1].value).toBe(Buffer.from('s3cr3t').toString('base64'));

      await apply(component(nsA, 'new-one'));
      await waitFor(() => billingEvents.some((e) => e.component['metadata'].name === 'new-one'), { what: 'the new component on the billing stream' });
      expect(billingEvents.find((e) => e.component['metadata'].name === 'new-one')?.type).toBe(CREATED);

      const deleted = await kubectl(['-n', nsA, 'delete', 'component', 'new-one']);
      expect(deleted.code).toBe(0);
      await waitFor(() => ordersEvents.some((e) => e.type === DELETED && e.component['metadata'].name === 'new-one'), { what: 'the deletion on the orders stream' });

      // billing never saw orders-only: it is out of its scope.
      expect(billingEvents.map((e) => e.component['metadata'].name)).not.toContain('orders-only');
      ordersStream.cancel();
      billingStream.cancel();
      await waitFor(() => running.operator.hub.count('components') === 0, { what: 'the streams to be removed' });
    });

    it('refuses a stream for another namespace', async () => {
      const request = new protos.operator.ComponentUpdateRequest();
      request.setNamespace(nsA);
      const stream = otherNs.componentUpdate(request);
      const error = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
      expect(error.code).toBe(grpc.status.PERMISSION_DENIED);
    });
  });

  describe('the other resources', () => {
    beforeAll(async () => {
      await apply(`
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: { name: appconfig, namespace: ${nsA} }
spec:
  tracing: { samplingRate: "1", otel: { endpointAddress: "otel:4317", protocol: grpc, isSecure: false, headers: [{ name: api-key, secretKeyRef: { name: redis, key: password } }] } }
  features: [{ name: HotReload, enabled: true }]
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: { name: orders-sub, namespace: ${nsA} }
spec: { pubsubname: pubsub, topic: orders, routes: { default: /orders } }
---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: { name: resilience, namespace: ${nsA} }
spec: { policies: { timeouts: { fast: 1s } }, targets: { apps: { orders: { timeout: fast } } } }
---
apiVersion: dapr.io/v1alpha1
kind: HTTPEndpoint
metadata: { name: payments, namespace: ${nsA} }
spec: { baseUrl: "https://payments.example", headers: [{ name: Authorization, secretKeyRef: { name: redis, key: password } }] }
`);
      await waitFor(
        () =>
          running.operator.store.configurations.get(nsA, 'appconfig') &&
          running.operator.store.subscriptions.get(nsA, 'orders-sub') &&
          running.operator.store.resiliencies.get(nsA, 'resilience') &&
          running.operator.store.httpEndpoints.get(nsA, 'payments'),
        { what: 'the resources in the caches' },
      );
    });

    it('serves the Configuration with otel header secrets as plain text, and NOT_FOUND for a missing one', async () => {
      const request = new protos.operator.GetConfigurationRequest();
      request.setNamespace(nsA);
      request.setName('appconfig');
      const response = await call<unknown, Messages.GetConfigurationResponse>(orders, 'getConfiguration', request);
      const configuration = json(response.getConfiguration_asU8());
      expect(configuration['spec'].tracing.otel.headers[0].value).toBe('s3cr3t');
      expect(configuration['spec'].features).toEqual([{ name: 'HotReload', enabled: true }]);
      request.setName('nope');
      await expect(call(orders, 'getConfiguration', request)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    });

    it('lists v2alpha1 Subscriptions, Resiliencies and HTTPEndpoints (with secrets) of the namespace', async () => {
      const subs = new protos.operator.ListSubscriptionsRequest();
      subs.setNamespace(nsA);
      const subscriptions = (await call<unknown, Messages.ListSubscriptionsResponse>(orders, 'listSubscriptionsV2', subs)).getSubscriptionsList_asU8().map(json);
      expect(subscriptions).toEqual([expect.objectContaining({ apiVersion: 'dapr.io/v2alpha1', spec: expect.objectContaining({ routes: { default: '/orders' } }) })]);

      const res = new protos.operator.ListResiliencyRequest();
      res.setNamespace(nsA);
      const resiliencies = (await call<unknown, Messages.ListResiliencyResponse>(orders, 'listResiliency', res)).getResilienciesList_asU8().map(json);
      expect(resiliencies.map((r) => r['metadata'].name)).toEqual(['resilience']);

      const eps = new protos.operator.ListHTTPEndpointsRequest();
      eps.setNamespace(nsA);
      const endpoints = (await call<unknown, Messages.ListHTTPEndpointsResponse>(orders, 'listHTTPEndpoints', eps)).getHttpEndpointsList_asU8().map(json);
      expect(endpoints[0]?.['spec'].headers[0].value).toBe(Buffer.from('s3cr3t').toString('base64'));
    });

    it('serves GetResiliency by name and NOT_FOUND for an unknown one', async () => {
      const request = new protos.operator.GetResiliencyRequest();
      request.setNamespace(nsA);
      request.setName('resilience');
      const response = await call<unknown, Messages.GetResiliencyResponse>(orders, 'getResiliency', request);
      expect(json(response.getResiliency_asU8())['spec'].policies.timeouts).toEqual({ fast: '1s' });
      request.setName('nope');
      await expect(call(orders, 'getResiliency', request)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    });

    it('streams Subscription changes (all three event types) and HTTPEndpoint additions and updates', async () => {
      const subRequest = new protos.operator.SubscriptionUpdateRequest();
      subRequest.setNamespace(nsA);
      const subEvents: Array<{ type: number; name: string; topic: string }> = [];
      const subStream = orders.subscriptionUpdate(subRequest);
      subStream.on('data', (e: Messages.SubscriptionUpdateEvent) => {
        const sub = json(e.getSubscription_asU8());
        subEvents.push({ type: e.getType(), name: sub['metadata'].name, topic: sub['spec'].topic });
      });
      subStream.on('error', () => undefined);
      const epRequest = new protos.operator.HTTPEndpointUpdateRequest();
      epRequest.setNamespace(nsA);
      const endpoints: Array<Record<string, any>> = [];
      const epStream = orders.hTTPEndpointUpdate(epRequest);
      epStream.on('data', (e: Messages.HTTPEndpointUpdateEvent) => endpoints.push(json(e.getHttpEndpoints_asU8())));
      epStream.on('error', () => undefined);
      await waitFor(() => running.operator.hub.count('subscriptions') >= 1 && running.operator.hub.count('httpendpoints') >= 1, { what: 'both streams' });

      await apply(`
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: { name: streamed, namespace: ${nsA} }
spec: { pubsubname: pubsub, topic: first, routes: { default: /a } }
---
apiVersion: dapr.io/v1alpha1
kind: HTTPEndpoint
metadata: { name: payments, namespace: ${nsA} }
spec: { baseUrl: "https://payments-v2.example", headers: [{ name: Authorization, secretKeyRef: { name: redis, key: password } }] }
`);
      await apply(`
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: { name: streamed, namespace: ${nsA} }
spec: { pubsubname: pubsub, topic: second, routes: { default: /a } }
`);
      expect((await kubectl(['-n', nsA, 'delete', 'subscriptions.v2alpha1.dapr.io', 'streamed'])).code).toBe(0);
      await waitFor(() => subEvents.length >= 3, { what: 'three subscription events' });
      expect(subEvents).toEqual([
        { type: CREATED, name: 'streamed', topic: 'first' },
        { type: UPDATED, name: 'streamed', topic: 'second' },
        { type: DELETED, name: 'streamed', topic: 'second' },
      ]);
      await waitFor(() => endpoints.length >= 1, { what: 'the HTTPEndpoint update' });
      expect(endpoints[0]).toMatchObject({ metadata: { name: 'payments' }, spec: { baseUrl: 'https://payments-v2.example' } });
      expect(endpoints[0]!['spec'].headers[0].value).toBe(Buffer.from('s3cr3t').toString('base64'));
      subStream.cancel();
      epStream.cancel();
    });

    it('answers ListSubscriptions (no namespace) with PERMISSION_DENIED, as Dapr does', async () => {
      await expect(call(orders, 'listSubscriptions', new protos.empty.Empty())).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    });
  });

  describe('when a Component is stored that daprd cannot load', () => {
    it('keeps serving it and the others, counts it and records a Warning Event on it', async () => {
      await apply(component(nsA, 'broken', { type: 'storage.nothing' }));
      await waitFor(async () => (await listComponents(orders, nsA)).some((c) => c['metadata'].name === 'broken'), { what: 'the broken component listed' });
      expect((await listComponents(orders, nsA)).map((c) => c['metadata'].name)).toEqual(expect.arrayContaining(['shared', 'broken']));
      const events = await waitFor(async () => {
        const result = await kubectl(['-n', nsA, 'get', 'events', '--field-selector', 'involvedObject.name=broken', '-o', 'json']);
        const items = (JSON.parse(result.stdout) as { items: Array<{ reason: string; message: string }> }).items;
        return items.length > 0 ? items : undefined;
      }, { what: 'an Event on the broken component' });
      expect(events[0]).toMatchObject({ reason: 'UnknownComponentType', message: expect.stringMatching(/storage\.nothing/) });
      const metrics = await running.registry.metrics();
      expect(metrics).toMatch(/dapr_operator_invalid_resources\{kind="Component"\} [1-9]/);
      expect(metrics).toMatch(/dapr_operator_resource_problems_total\{kind="Component",reason="UnknownComponentType"\} [1-9]/);
    });
  });

  it('reports ready once the caches are synced', () => {
    expect(running.readiness.pending()).toEqual({});
  });
});
