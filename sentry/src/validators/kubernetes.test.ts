import { KubernetesValidator, podNameClaim, type KubernetesLookups, type PodIdentity, type TokenReviewOutcome } from './kubernetes.js';
import { ValidationError, validateCommon, type SignRequest } from './validator.js';

const sentryId = 'spiffe://cluster.local/ns/dapr-system/dapr-sentry';
const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

class FakeCluster implements KubernetesLookups {
  synced = true;
  reviews: Array<{ token: string; audiences: string[] }> = [];
  review: TokenReviewOutcome = { authenticated: true, username: 'system:serviceaccount:shop:orders-sa' };
  pods = new Map<string, PodIdentity>();
  configurations = new Map<string, string>();
  ready() {
    return this.synced;
  }
  async tokenReview(token: string, audiences: string[]) {
    this.reviews.push({ token, audiences });
    return this.review;
  }
  async pod(namespace: string, name: string) {
    return this.pods.get(`${namespace}/${name}`);
  }
  async configurationTrustDomain(namespace: string, name: string) {
    return this.configurations.get(`${namespace}/${name}`);
  }
  addPod(pod: Partial<PodIdentity> & { namespace: string; name: string }) {
    this.pods.set(`${pod.namespace}/${pod.name}`, { serviceAccountName: 'orders-sa', annotations: {}, ...pod });
  }
}

function request(overrides: Partial<SignRequest> = {}): SignRequest {
  return { id: 'orders', token: jwt({ 'kubernetes.io': { pod: { name: 'orders-0' } } }), trustDomain: '', namespace: 'shop', csr: Buffer.from('csr'), jwtAudiences: [], ...overrides };
}

async function refusal(promise: Promise<unknown>): Promise<ValidationError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('KubernetesValidator', () => {
  let cluster: FakeCluster;
  let validator: KubernetesValidator;
  beforeEach(() => {
    cluster = new FakeCluster();
    cluster.addPod({ namespace: 'shop', name: 'orders-0', annotations: { 'dapr.io/app-id': 'orders' } });
    validator = new KubernetesValidator({ lookups: cluster, sentryId, controlPlaneNamespace: 'dapr-system', controlPlaneTrustDomain: 'cluster.local' });
  });

  describe('when the token belongs to the pod of the requested app', () => {
    it('issues in the public trust domain and reviews the token for both sentry audiences', async () => {
      await expect(validator.validate(request())).resolves.toEqual({ trustDomain: 'public' });
      expect(cluster.reviews[0]?.audiences).toEqual(['dapr.io/sentry', sentryId]);
    });

    it('uses the pod name when the pod has no app-id annotation', async () => {
      cluster.addPod({ namespace: 'shop', name: 'orders-0' });
      await expect(validator.validate(request({ id: 'orders-0' }))).resolves.toEqual({ trustDomain: 'public' });
    });

    it('takes the trust domain from the Configuration the pod names', async () => {
      cluster.addPod({ namespace: 'shop', name: 'orders-0', annotations: { 'dapr.io/app-id': 'orders', 'dapr.io/config': 'appconfig' } });
      cluster.configurations.set('shop/appconfig', 'shop.example');
      await expect(validator.validate(request())).resolves.toEqual({ trustDomain: 'shop.example' });
      cluster.configurations.set('shop/appconfig', '');
      await expect(validator.validate(request())).resolves.toEqual({ trustDomain: 'public' });
    });

    it('ignores a trust domain in the request', async () => {
      await expect(validator.validate(request({ trustDomain: 'evil.example' }))).resolves.toEqual({ trustDomain: 'public' });
    });
  });

  describe('when the request asks for something the token does not prove', () => {
    it.each([
      ['another app id', request({ id: 'payments' }), 'permission-denied', 'app-id mismatch. expected: orders, received: payments'],
      ['another namespace', request({ namespace: 'other' }), 'permission-denied', 'namespace mismatch; received namespace: other, the token is for namespace shop'],
    ])('refuses %s', async (_name, req, kind, message) => {
      const error = await refusal(validator.validate(req));
      expect(error.kind).toBe(kind);
      expect(error.message).toBe(message);
    });

    it('refuses a pod that runs under another service account than the token', async () => {
      cluster.addPod({ namespace: 'shop', name: 'orders-0', serviceAccountName: 'other', annotations: { 'dapr.io/app-id': 'orders' } });
      expect((await refusal(validator.validate(request()))).message).toBe('pod service account mismatch');
    });

    it('refuses a token whose pod is gone', async () => {
      cluster.pods.clear();
      const error = await refusal(validator.validate(request()));
      expect(error.kind).toBe('permission-denied');
      expect(error.message).toContain('pod shop/orders-0 does not exist');
    });

    it('refuses a pod naming a Configuration that does not exist', async () => {
      cluster.addPod({ namespace: 'shop', name: 'orders-0', annotations: { 'dapr.io/app-id': 'orders', 'dapr.io/config': 'missing' } });
      expect((await refusal(validator.validate(request()))).message).toContain('Configuration shop/missing');
    });
  });

  describe('when the token itself is not good', () => {
    it.each([
      ['expired', { authenticated: false, error: 'Token has expired.' }, 'invalid token: Token has expired.'],
      ['for another audience', { authenticated: false }, 'authentication failed: the token was not accepted for the sentry audiences'],
      ['not a service account token', { authenticated: true, username: 'alice' }, 'provided token is not a properly structured service account token'],
    ])('answers unauthenticated for a token %s', async (_name, review, message) => {
      cluster.review = review;
      const error = await refusal(validator.validate(request()));
      expect(error.kind).toBe('unauthenticated');
      expect(error.message).toBe(message);
    });

    it('answers unauthenticated when the token is not bound to a pod', async () => {
      const error = await refusal(validator.validate(request({ token: jwt({ sub: 'x' }) })));
      expect(error).toMatchObject({ kind: 'unauthenticated' });
      expect(error.message).toContain('kubernetes.io/pod/name claim is missing');
    });

    it('answers unavailable while the caches sync or the API server fails', async () => {
      cluster.synced = false;
      expect((await refusal(validator.validate(request()))).kind).toBe('unavailable');
      cluster.synced = true;
      cluster.tokenReview = async () => {
        throw new Error('connection refused');
      };
      expect(await refusal(validator.validate(request()))).toMatchObject({ kind: 'unavailable', message: 'token review failed: connection refused' });
    });
  });

  describe('when a control-plane pod asks', () => {
    it('gives it its fixed identity in the control-plane trust domain', async () => {
      cluster.review = { authenticated: true, username: 'system:serviceaccount:dapr-system:dapr-operator' };
      cluster.addPod({ namespace: 'dapr-system', name: 'operator-0', serviceAccountName: 'dapr-operator', annotations: { 'dapr.io/control-plane': 'operator' } });
      const req = request({ id: 'dapr-operator', namespace: 'dapr-system', token: jwt({ 'kubernetes.io': { pod: { name: 'operator-0' } } }) });
      await expect(validator.validate(req)).resolves.toEqual({ trustDomain: 'cluster.local' });
    });

    it('refuses the control-plane annotation outside the control-plane namespace, and with an app-id', async () => {
      cluster.addPod({ namespace: 'shop', name: 'orders-0', annotations: { 'dapr.io/control-plane': 'operator' } });
      expect((await refusal(validator.validate(request({ id: 'dapr-operator' })))).message).toBe("control plane service in namespace 'shop' is not allowed");
      cluster.review = { authenticated: true, username: 'system:serviceaccount:dapr-system:orders-sa' };
      cluster.addPod({ namespace: 'dapr-system', name: 'orders-0', annotations: { 'dapr.io/control-plane': 'operator', 'dapr.io/app-id': 'x' } });
      const req = request({ id: 'dapr-operator', namespace: 'dapr-system' });
      expect((await refusal(validator.validate(req))).message).toContain("cannot have annotation 'dapr.io/app-id'");
    });
  });
});

describe('validateCommon', () => {
  it('joins every problem into one invalid-request message', () => {
    try {
      validateCommon(request({ id: 'a.b', csr: Buffer.alloc(0), namespace: '' }));
      throw new Error('expected a refusal');
    } catch (error) {
      expect(error).toMatchObject({ kind: 'invalid-request', message: 'invalid request: parameter app-id cannot contain dots\nCSR is required\nnamespace is required' });
    }
  });

  it('refuses app ids over 64 characters and invalid trust domains', () => {
    expect(() => validateCommon(request({ id: 'a'.repeat(65) }))).toThrow('app ID must be 64 characters or less');
    expect(() => validateCommon(request({ trustDomain: 'Not_Valid!' }))).toThrow('is not a valid SPIFFE trust domain');
    expect(validateCommon(request({ id: 'a'.repeat(64), trustDomain: 'cluster.local' }))).toBe('cluster.local');
  });
});

describe('podNameClaim', () => {
  it('reads the pod name from a JWT or from bare JSON claims (as Dapr tests send)', () => {
    expect(podNameClaim(jwt({ 'kubernetes.io': { pod: { name: 'p' } } }))).toBe('p');
    expect(podNameClaim('{"kubernetes.io":{"pod":{"name":"mypod"}}}')).toBe('mypod');
    expect(podNameClaim('garbage')).toBeUndefined();
  });
});
