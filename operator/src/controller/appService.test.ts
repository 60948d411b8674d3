import { buildAppService, deploymentKind, InvalidAppIdError, isTruthy, slimWorkload, statefulSetKind, type Workload } from './appService.js';

const workload = (annotations: Record<string, string>): Workload => ({
  metadata: { name: 'orders', namespace: 'shop', uid: 'uid-1', resourceVersion: '7' },
  spec: { selector: { matchLabels: { app: 'orders' } }, template: { metadata: { annotations } } },
});

describe('buildAppService', () => {
  describe('when the workload uses the default ports', () => {
    it('builds the headless <app-id>-dapr Service Dapr builds, controlled by the workload', () => {
      expect(buildAppService(deploymentKind, workload({ 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'orders' }))).toEqual({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: 'orders-dapr',
          namespace: 'shop',
          labels: { 'dapr.io/enabled': 'true' },
          annotations: {
            'dapr.io/app-id': 'orders',
            'prometheus.io/probe': 'true',
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': '9090',
            'prometheus.io/path': '/',
          },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'orders', uid: 'uid-1', controller: true, blockOwnerDeletion: true }],
        },
        spec: {
          selector: { app: 'orders' },
          clusterIP: 'None',
          ports: [
            { name: 'dapr-http', protocol: 'TCP', port: 80, targetPort: 3500 },
            { name: 'dapr-grpc', protocol: 'TCP', port: 50001, targetPort: 50001 },
            { name: 'dapr-internal', protocol: 'TCP', port: 50002, targetPort: 50002 },
            { name: 'dapr-metrics', protocol: 'TCP', port: 9090, targetPort: 9090 },
          ],
        },
      });
    });
  });

  describe('when annotations change ports, metrics and Service annotations', () => {
    it('follows them, ignores bad numbers and never lets users override the operator’s annotations', () => {
      const service = buildAppService(
        statefulSetKind,
        workload({
          'dapr.io/enabled': 'true',
          'dapr.io/app-id': 'orders',
          'dapr.io/grpc-port': '6000',
          'dapr.io/internal-grpc-port': 'x',
          'dapr.io/metrics-port': '9999',
          'dapr.io/enable-metrics': 'false',
          'dapr.io/sidecar-svc-annotations': ' team = a ,dapr.io/app-id=evil, team=b, noequals, =v',
        }),
      );
      expect(service.metadata.annotations).toEqual({ 'dapr.io/app-id': 'orders', team: 'a' });
      expect(service.spec.ports.map((p) => [p.name, p.port, p.targetPort])).toEqual([
        ['dapr-http', 80, 3500],
        ['dapr-grpc', 6000, 6000],
        ['dapr-internal', 50002, 50002],
        ['dapr-metrics', 9999, 9999],
      ]);
      expect(service.metadata.ownerReferences[0]?.kind).toBe('StatefulSet');
    });
  });

  describe('when the app id cannot name a Service', () => {
    it.each([[''], ['Orders'], ['a'.repeat(59)], ['my_app']])('refuses %j with Dapr’s message', (appId) => {
      expect(() => buildAppService(deploymentKind, workload({ 'dapr.io/enabled': 'true', 'dapr.io/app-id': appId }))).toThrow(InvalidAppIdError);
    });
  });
});

describe('slimWorkload', () => {
  it('keeps Dapr-enabled workloads with only the fields the Service needs, and drops the rest', () => {
    const full: Workload & Record<string, unknown> = {
      ...workload({ 'dapr.io/enabled': 'yes', 'dapr.io/app-id': 'orders', 'unrelated/annotation': 'x' }),
      status: { replicas: 3 },
    };
    expect(slimWorkload(full)).toEqual({
      metadata: { name: 'orders', namespace: 'shop', uid: 'uid-1', resourceVersion: '7', deletionTimestamp: undefined },
      spec: { selector: { matchLabels: { app: 'orders' } }, template: { metadata: { annotations: { 'dapr.io/enabled': 'yes', 'dapr.io/app-id': 'orders' } } } },
    });
    expect(slimWorkload(workload({ 'dapr.io/enabled': 'false' }))).toBeUndefined();
    expect(slimWorkload(workload({}))).toBeUndefined();
  });
});

describe('isTruthy', () => {
  it('accepts dapr/kit’s true words only', () => {
    expect(['y', 'Yes', 'TRUE', 't', 'on', '1'].every(isTruthy)).toBe(true);
    expect(['', 'false', 'enabled', '2', undefined].some(isTruthy)).toBe(false);
  });
});
