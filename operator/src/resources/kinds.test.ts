import { componentKind, configurationKind, encode, httpEndpointKind, inScope, resiliencyKind, subscriptionKind, type Component } from './kinds.js';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

// Expected strings are what Go's json.Marshal prints for Dapr 1.17's typed CRs decoded from the same input.
describe('encode', () => {
  describe('a Component', () => {
    const component: Component = {
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Component',
      metadata: {
        name: 'statestore',
        namespace: 'ns-a',
        uid: 'u1',
        resourceVersion: '5',
        generation: 1,
        creationTimestamp: '2025-01-02T03:04:05Z',
        annotations: { b: '2', a: '<1>' },
      },
      spec: {
        type: 'state.redis',
        version: 'v1',
        metadata: [
          { name: 'redisHost', value: 'localhost:6379' },
          { name: 'redisPassword', secretKeyRef: { name: 'redis', key: 'password' } },
          { name: 'maxRetries', value: 3 },
        ],
      },
      auth: { secretStore: 'kubernetes' },
    };

    it('prints fields in Go’s order with Go’s zero values and escapes', () => {
      expect(text(encode(componentKind, component))).toBe(
        '{"kind":"Component","apiVersion":"dapr.io/v1alpha1","metadata":{"name":"statestore","namespace":"ns-a","uid":"u1",' +
          '"resourceVersion":"5","generation":1,"creationTimestamp":"2025-01-02T03:04:05Z","annotations":{"a":"\\u003c1\\u003e","b":"2"}},' +
          '"spec":{"type":"state.redis","version":"v1","ignoreErrors":false,"metadata":[' +
          '{"name":"redisHost","value":"localhost:6379","secretKeyRef":{"name":"","key":""}},' +
          '{"name":"redisPassword","value":null,"secretKeyRef":{"name":"redis","key":"password"}},' +
          '{"name":"maxRetries","value":3,"secretKeyRef":{"name":"","key":""}}],"initTimeout":""},' +
          '"auth":{"secretStore":"kubernetes"}}',
      );
    });

    it('includes scopes only when there are some', () => {
      expect(text(encode(componentKind, { ...component, scopes: ['orders'] }))).toMatch(/"auth":\{"secretStore":"kubernetes"\},"scopes":\["orders"\]\}$/);
    });

    it('drops managedFields when slimmed for the cache and fills in kind and apiVersion', () => {
      const slim = componentKind.slim({ metadata: { name: 'x', namespace: 'n', managedFields: [{ manager: 'kubectl' }] } });
      expect(slim).toEqual({ kind: 'Component', apiVersion: 'dapr.io/v1alpha1', metadata: { name: 'x', namespace: 'n' } });
    });
  });

  describe('a Subscription (v2alpha1)', () => {
    it('always writes routes and bulkSubscribe, and leaves out empty optional fields', () => {
      const subscription = {
        metadata: { name: 's', namespace: 'n' },
        spec: { topic: 'orders', pubsubname: 'pubsub', routes: { default: '/orders' } },
      };
      expect(text(encode(subscriptionKind, subscription))).toBe(
        '{"metadata":{"name":"s","namespace":"n","creationTimestamp":null},"spec":{"pubsubname":"pubsub","topic":"orders",' +
          '"routes":{"default":"/orders"},"bulkSubscribe":{"enabled":false}}}',
      );
    });
  });

  describe('a Configuration', () => {
    it('keeps pointers that are set, normalises durations and omits what is unset', () => {
      const configuration = {
        metadata: { name: 'appconfig', namespace: 'n', creationTimestamp: '2025-01-02T03:04:05Z' },
        spec: {
          tracing: { samplingRate: '1', otel: { endpointAddress: 'otel:4317', protocol: 'grpc', isSecure: false, timeout: '10s' } },
          features: [{ name: 'HotReload', enabled: true }],
          mtls: { enabled: true, workloadCertTTL: '24h', sentryAddress: 's:443', controlPlaneTrustDomain: 'cluster.local' },
        },
      };
      expect(text(encode(configurationKind, configuration))).toBe(
        '{"metadata":{"name":"appconfig","namespace":"n","creationTimestamp":"2025-01-02T03:04:05Z"},"spec":{' +
          '"tracing":{"samplingRate":"1","otel":{"protocol":"grpc","endpointAddress":"otel:4317","isSecure":false,"timeout":"10s"}},' +
          '"mtls":{"enabled":true,"workloadCertTTL":"24h","sentryAddress":"s:443","controlPlaneTrustDomain":"cluster.local"},' +
          '"features":[{"name":"HotReload","enabled":true}]}}',
      );
    });
  });

  describe('a Resiliency and an HTTPEndpoint', () => {
    it('encodes maps of policies in key order and clientTLS documents', () => {
      const resiliency = {
        metadata: { name: 'r', namespace: 'n' },
        spec: {
          policies: { timeouts: { slow: '10s', fast: '1s' }, retries: { retryForever: { policy: 'constant', duration: '5s', maxRetries: -1 } } },
          targets: { apps: { orders: { timeout: 'fast' } } },
        },
      };
      expect(text(encode(resiliencyKind, resiliency))).toBe(
        '{"metadata":{"name":"r","namespace":"n","creationTimestamp":null},"spec":{"policies":{"timeouts":{"fast":"1s","slow":"10s"},' +
          '"retries":{"retryForever":{"policy":"constant","duration":"5s","maxRetries":-1}}},"targets":{"apps":{"orders":{"timeout":"fast"}}}}}',
      );
      const endpoint = {
        metadata: { name: 'e', namespace: 'n' },
        spec: { baseUrl: 'https://x', clientTLS: { rootCA: { secretKeyRef: { name: 'ca', key: 'ca.crt' } } } },
      };
      expect(text(encode(httpEndpointKind, endpoint))).toBe(
        '{"metadata":{"name":"e","namespace":"n","creationTimestamp":null},"spec":{"baseUrl":"https://x","headers":null,' +
          '"clientTLS":{"rootCA":{"secretKeyRef":{"name":"ca","key":"ca.crt"}},"certificate":null,"privateKey":null,"renegotiation":null}},' +
          '"auth":{"secretStore":""}}',
      );
    });
  });
});

describe('inScope', () => {
  it('lets every app see a resource without scopes, and only listed apps otherwise', () => {
    expect(inScope({}, 'a')).toBe(true);
    expect(inScope({ scopes: [] }, 'a')).toBe(true);
    expect(inScope({ scopes: ['a', 'b'] }, 'b')).toBe(true);
    expect(inScope({ scopes: ['a'] }, 'c')).toBe(false);
  });
});
