import { convertSubscription, reviewConversion } from './subscriptionConversion.js';

const metadata = { name: 's', namespace: 'n', uid: 'u' };
const v1 = {
  apiVersion: 'dapr.io/v1alpha1',
  kind: 'Subscription',
  metadata,
  spec: { topic: 'orders', pubsubname: 'pubsub', route: '/orders', metadata: { rawPayload: 'true' }, deadLetterTopic: 'dead', bulkSubscribe: { enabled: true, maxMessagesCount: 10 } },
  scopes: ['app1'],
};
const v2 = {
  apiVersion: 'dapr.io/v2alpha1',
  kind: 'Subscription',
  metadata,
  spec: { pubsubname: 'pubsub', topic: 'orders', metadata: { rawPayload: 'true' }, routes: { default: '/orders' }, deadLetterTopic: 'dead', bulkSubscribe: { enabled: true, maxMessagesCount: 10 } },
  scopes: ['app1'],
};

describe('convertSubscription', () => {
  it('turns v1alpha1’s route into v2alpha1’s default route and back', () => {
    expect(convertSubscription(v1, 'dapr.io/v2alpha1')).toEqual(v2);
    expect(convertSubscription(v2, 'dapr.io/v1alpha1')).toEqual(v1);
  });

  it('drops routing rules going down to v1alpha1, as Dapr does', () => {
    const withRules = { ...v2, spec: { ...v2.spec, routes: { rules: [{ match: 'event.type == "x"', path: '/x' }], default: '/orders' } } };
    expect(convertSubscription(withRules, 'dapr.io/v1alpha1')).toEqual(v1);
  });

  it('leaves objects already in the desired version alone and refuses unknown versions', () => {
    expect(convertSubscription(v2, 'dapr.io/v2alpha1')).toBe(v2);
    expect(() => convertSubscription(v2, 'dapr.io/v3')).toThrow(/cannot convert to dapr.io\/v3/);
    expect(() => convertSubscription({ ...v2, apiVersion: 'dapr.io/v0' }, 'dapr.io/v1alpha1')).toThrow(/apiVersion "dapr.io\/v0"/);
  });
});

describe('reviewConversion', () => {
  it('answers with the request uid and the converted objects', () => {
    expect(reviewConversion({ request: { uid: 'r1', desiredAPIVersion: 'dapr.io/v2alpha1', objects: [v1] } })).toEqual({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'ConversionReview',
      response: { uid: 'r1', convertedObjects: [v2], result: { status: 'Success' } },
    });
  });

  it('reports a failure in the result rather than failing the request', () => {
    const answer = reviewConversion({ request: { uid: 'r2', desiredAPIVersion: 'dapr.io/v9', objects: [v1] } });
    expect(answer['response']).toMatchObject({ uid: 'r2', result: { status: 'Failure', message: expect.stringMatching(/v9/) } });
  });
});
