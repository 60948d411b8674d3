import { Admission, type AdmissionRequest } from './admission.js';
import { CallerAuthorisation, ServiceAccountMatcher } from './callerAuthorisation.js';
import { componentContainers } from './pluggableComponents.js';
import { SidecarTemplate } from './sidecarContainer.js';
import { testEnvironment } from './testdata/environment.js';
import type { ContainerJson } from './kubeTypes.js';

const admin = { username: 'admin', groups: ['system:masters'] };
const pod = (annotations: Record<string, string>, containers: ContainerJson[] = [{ name: 'app' }]) => ({ metadata: { name: 'web-0', annotations }, spec: { containers } });
const request = (object: unknown, extra: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  uid: 'u',
  kind: { kind: 'Pod' },
  operation: 'CREATE',
  namespace: 'shop',
  userInfo: admin,
  object: object as AdmissionRequest['object'],
  ...extra,
});

function admission(options: { anchors?: string; components?: (appId: string, ns: string) => Promise<ContainerJson[]> } = {}) {
  return new Admission({
    template: new SidecarTemplate(testEnvironment),
    authorisation: new CallerAuthorisation(new ServiceAccountMatcher('')),
    trustAnchors: () => options.anchors ?? 'PEM',
    mtlsEnabled: () => false,
    componentContainers: options.components,
  });
}

describe('Admission', () => {
  describe('when the request is not a pod creation', () => {
    it.each([
      [{ kind: { kind: 'Deployment' } }],
      [{ operation: 'UPDATE' }],
    ])('ignores %j', (extra) => {
      expect(admission().review(request(pod({ 'dapr.io/enabled': 'true' }), extra))).toEqual({ result: 'ignored' });
    });
  });

  describe('when the pod asks for injection', () => {
    it('follows the mTLS setting', () => {
      const outcome = admission().review(request(pod({ 'dapr.io/enabled': 'true' })));
      if (outcome instanceof Promise || outcome.result !== 'injected') throw new Error('expected an injection');
      const daprd = outcome.patch.find((op) => op.path === '/spec/containers/-') as { value: { args: string[] } };
      expect(daprd.value.args).not.toContain('--enable-mtls');
    });

    it('checks the caller before the annotations, so a stranger learns nothing about them', () => {
      const outcome = admission().review(request(pod({ 'dapr.io/enabled': 'true', 'dapr.io/app-port': 'x' }), { userInfo: { username: 'jane' } }));
      expect(outcome).toMatchObject({ result: 'denied', reason: 'unauthorised', code: 403 });
    });

    it('refuses while no trust anchors are loaded', () => {
      expect(admission({ anchors: '' }).review(request(pod({ 'dapr.io/enabled': 'true' })))).toMatchObject({ result: 'denied', reason: 'no_trust_anchors' });
    });

    it('refuses volume mounts naming volumes the pod lacks', () => {
      const outcome = admission().review(request(pod({ 'dapr.io/enabled': 'true', 'dapr.io/volume-mounts': 'certs:/certs' })));
      expect(outcome).toMatchObject({ result: 'denied', reason: 'invalid_annotation' });
      expect((outcome as { message: string }).message).toContain('missing: certs');
    });

    it('leaves a pod that already has daprd unchanged', () => {
      expect(admission().review(request(pod({ 'dapr.io/enabled': 'true' }, [{ name: 'app' }, { name: 'daprd' }])))).toMatchObject({ result: 'unchanged' });
    });
  });

  describe('when the pod asks for the pluggable components of its namespace', () => {
    it('adds their containers after daprd with the shared socket folder', async () => {
      const outcome = await admission({ components: async () => [{ name: 'store', image: 'store:1' }] }).review(
        request(pod({ 'dapr.io/enabled': 'true', 'dapr.io/inject-pluggable-components': 'true' })),
      );
      if (outcome.result !== 'injected') throw new Error('expected an injection');
      const added = outcome.patch.filter((op) => op.path === '/spec/containers/-').map((op) => (op as { value: ContainerJson }).value);
      expect(added.map((c) => c.name)).toEqual(['daprd', 'store']);
      expect(added[1]!.env).toEqual([{ name: 'DAPR_COMPONENT_SOCKETS_FOLDER', value: '/tmp/dapr-components-sockets' }]);
    });

    it('denies the pod when the Components cannot be listed', async () => {
      const outcome = await admission({ components: async () => Promise.reject(new Error('forbidden')) }).review(
        request(pod({ 'dapr.io/enabled': 'true', 'dapr.io/inject-pluggable-components': 'true' })),
      );
      expect(outcome).toMatchObject({ result: 'denied', reason: 'components_lookup', code: 500 });
    });
  });
});

describe('componentContainers', () => {
  const component = (name: string, container: unknown, scopes?: string[]) => ({
    metadata: { name, annotations: { 'dapr.io/component-container': typeof container === 'string' ? container : JSON.stringify(container) } },
    ...(scopes ? { scopes } : {}),
  });

  it('takes one container per image, only from Components scoped to the app, named after the Component by default', () => {
    const containers = componentContainers('orders', [
      component('redis', { image: 'redis-pc:1' }),
      component('redis-copy', { image: 'redis-pc:1' }),
      component('kafka', { name: 'kafka-pc', image: 'kafka-pc:1' }, ['orders']),
      component('other', { image: 'other:1' }, ['payments']),
      component('broken', 'not json'),
      { metadata: { name: 'plain' } },
    ]);
    expect(containers).toEqual([
      { name: 'redis', image: 'redis-pc:1' },
      { name: 'kafka-pc', image: 'kafka-pc:1' },
    ]);
  });
});
