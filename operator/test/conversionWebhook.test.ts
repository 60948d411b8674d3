// Subscriptions in both versions through the real API server: it calls the operator's conversion webhook to store
// a v1alpha1 Subscription as v2alpha1 and to read it back as v1alpha1. The CRD normally points the webhook at the
// dapr-webhook Service; there are no Service endpoints here, so the test points it at the webhook's URL instead
// (and puts the Service form back afterwards). The operator patches the caBundle itself, as in a cluster.
import { protos } from '@tapr/lib';
import { createTestNamespace, deleteTestNamespace, freePort, kubectl, waitFor, type TestTrustBundle } from '@tapr/lib/testing';
import type * as Messages from '../src/api/messages.js';
import { call, createTestTrustBundle, json, operatorClient, startOperator, type RunningOperator } from './harness.js';

async function crdClientConfig(): Promise<Record<string, unknown>> {
  const result = await kubectl(['get', 'crd', 'subscriptions.dapr.io', '-o', 'jsonpath={.spec.conversion.webhook.clientConfig}']);
  if (result.code !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

async function setClientConfig(clientConfig: Record<string, unknown>): Promise<void> {
  const patch = [{ op: 'replace', path: '/spec/conversion/webhook/clientConfig', value: clientConfig }];
  const result = await kubectl(['patch', 'crd', 'subscriptions.dapr.io', '--type=json', '-p', JSON.stringify(patch)]);
  if (result.code !== 0) throw new Error(`cannot patch the Subscription CRD: ${result.stderr}`);
}

describe('the Subscription conversion webhook', () => {
  let bundle: TestTrustBundle;
  let original: Record<string, unknown>;
  let running: RunningOperator;
  let controlPlane: string;
  let ns: string;

  beforeAll(async () => {
    bundle = await createTestTrustBundle();
    [controlPlane, ns] = await Promise.all([createTestNamespace('cp-webhook'), createTestNamespace('subs')]);
    original = await crdClientConfig();
    const port = await freePort();
    await setClientConfig({ url: `https://localhost:${port}/convert` });
    running = await startOperator(bundle, { namespace: controlPlane, conversionWebhook: true, webhookPort: port });
  });

  afterAll(async () => {
    await running?.stop();
    if (original) {
      const { caBundle: _ignored, ...rest } = original;
      await setClientConfig(rest);
    }
    await Promise.all([deleteTestNamespace(controlPlane), deleteTestNamespace(ns)]);
  });

  it('patches the CRD’s caBundle with the trust anchors before reporting ready', async () => {
    const clientConfig = await crdClientConfig();
    expect(Buffer.from(clientConfig['caBundle'] as string, 'base64').toString()).toBe(bundle.rootPem);
    expect(running.readiness.pending()).toEqual({});
  });

  it('stores a v1alpha1 Subscription as v2alpha1, serves it to sidecars and reads it back as v1alpha1', async () => {
    const applied = await kubectl(['apply', '-f', '-'], {
      input: `
apiVersion: dapr.io/v1alpha1
kind: Subscription
metadata: { name: legacy, namespace: ${ns} }
spec: { topic: orders, pubsubname: pubsub, route: /orders, deadLetterTopic: dead }
scopes: [orders]
`,
    });
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);

    const v2 = await kubectl(['-n', ns, 'get', 'subscriptions.v2alpha1.dapr.io', 'legacy', '-o', 'json']);
    expect(JSON.parse(v2.stdout)).toMatchObject({ apiVersion: 'dapr.io/v2alpha1', spec: { routes: { default: '/orders' }, deadLetterTopic: 'dead' }, scopes: ['orders'] });
    const v1 = await kubectl(['-n', ns, 'get', 'subscriptions.v1alpha1.dapr.io', 'legacy', '-o', 'json']);
    expect(JSON.parse(v1.stdout)).toMatchObject({ apiVersion: 'dapr.io/v1alpha1', spec: { route: '/orders', topic: 'orders' } });

    const client = await operatorClient(bundle, running, { namespace: ns, appId: 'orders' });
    const request = new protos.operator.ListSubscriptionsRequest();
    request.setNamespace(ns);
    const subscriptions = await waitFor(async () => {
      const list = (await call<unknown, Messages.ListSubscriptionsResponse>(client, 'listSubscriptionsV2', request)).getSubscriptionsList_asU8().map(json);
      return list.length ? list : undefined;
    }, { what: 'the subscription served' });
    expect(subscriptions[0]).toMatchObject({ apiVersion: 'dapr.io/v2alpha1', spec: { routes: { default: '/orders' } } });
    client.close();
  });
});
