import https from 'node:https';
import { createMetricsRegistry, Readiness, silentLogger } from '@tapr/lib';
import { createCa, issueCertificate } from '@tapr/lib/testing';
import { Admission } from './admission.js';
import { CallerAuthorisation, ServiceAccountMatcher } from './callerAuthorisation.js';
import { InjectorMetrics } from './metrics.js';
import { CertificateHolder, type ServingCertificate } from './servingCertificate.js';
import { SidecarTemplate } from './sidecarContainer.js';
import { testEnvironment } from './testdata/environment.js';
import { WebhookServer } from './webhookServer.js';

class FixedCertificate extends CertificateHolder {
  constructor(certificate: ServingCertificate) {
    super();
    this.set(certificate);
  }
}

function post(port: number, ca: string, path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }, method = 'POST') {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, method, ca, servername: 'localhost', headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const review = (object: unknown, user = { groups: ['system:masters'] }) =>
  JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'abc-123', kind: { kind: 'Pod' }, operation: 'CREATE', namespace: 'shop', userInfo: user, object } });

describe('WebhookServer', () => {
  const controller = new AbortController();
  const registry = createMetricsRegistry();
  let server: WebhookServer;
  let running: Promise<void>;
  let ca: string;
  let anchors = 'PEM-1';

  beforeAll(async () => {
    const authority = await createCa('test webhook CA');
    const leaf = await issueCertificate(authority, { commonName: 'localhost', dnsNames: ['localhost'], usage: 'server' });
    ca = authority.certPem;
    server = new WebhookServer({
      port: 0,
      host: '127.0.0.1',
      certificates: new FixedCertificate({ certChainPem: leaf.certPem, keyPem: leaf.keyPem, caBundlePem: ca }),
      admission: new Admission({
        template: new SidecarTemplate(testEnvironment),
        authorisation: new CallerAuthorisation(new ServiceAccountMatcher('')),
        trustAnchors: () => anchors,
        mtlsEnabled: () => true,
      }),
      metrics: new InjectorMetrics(registry),
      readiness: new Readiness().target('injector-service'),
      logger: silentLogger(),
    });
    running = server.run(controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 50));
    while (server.port === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  });

  afterAll(async () => {
    controller.abort();
    await running;
  });

  describe('when the request is an AdmissionReview for an annotated pod', () => {
    it('answers 200 with the uid echoed and a base64 JSON Patch that adds daprd', async () => {
      const res = await post(server.port, ca, '/mutate', review({ metadata: { name: 'p', annotations: { 'dapr.io/enabled': 'true' } }, spec: { containers: [{ name: 'a' }] } }));
      expect(res.status).toBe(200);
      const body = JSON.parse(res.body);
      expect(body).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'abc-123', allowed: true, patchType: 'JSONPatch' } });
      const patch = JSON.parse(Buffer.from(body.response.patch, 'base64').toString());
      expect(patch).toContainEqual(expect.objectContaining({ op: 'add', path: '/spec/containers/-', value: expect.objectContaining({ name: 'daprd' }) }));
    });
  });

  describe('when replicas send identical pods', () => {
    const pod = { metadata: { generateName: 'web-', annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'web' } }, spec: { containers: [{ name: 'a' }] } };
    const ask = async (uid: string) => {
      const body = review(pod).replace('"abc-123"', JSON.stringify(uid));
      const response = JSON.parse((await post(server.port, ca, '/mutate', body)).body).response;
      const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString()) as Array<{ path: string; value: { env?: Array<{ name: string; value?: string }> } }>;
      const daprd = patch.find((op) => op.path === '/spec/containers/-')!.value;
      return { uid: response.uid as string, anchors: daprd.env!.find((e) => e.name === 'DAPR_TRUST_ANCHORS')!.value };
    };

    it('answers each with its own uid', async () => {
      expect(await ask('replica-1')).toEqual({ uid: 'replica-1', anchors: 'PEM-1' });
      expect(await ask('replica-2')).toEqual({ uid: 'replica-2', anchors: 'PEM-1' });
    });

    it('builds a fresh answer once the trust anchors change', async () => {
      anchors = 'PEM-2';
      expect(await ask('replica-3')).toEqual({ uid: 'replica-3', anchors: 'PEM-2' });
    });
  });

  describe('when the annotations are invalid or the caller is not allowed', () => {
    it('denies with a status naming the annotation', async () => {
      const res = await post(server.port, ca, '/mutate', review({ metadata: { name: 'p', annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-port': 'abc' } }, spec: {} }));
      const body = JSON.parse(res.body);
      expect(body.response).toMatchObject({ uid: 'abc-123', allowed: false, status: { code: 400, reason: 'BadRequest' } });
      expect(body.response.status.message).toContain('dapr.io/app-port: "abc" is not valid; expected an integer from 0 to 65535');
    });

    it('denies a pod from a user who may not ask for sidecars with 403', async () => {
      const res = await post(server.port, ca, '/mutate', review({ metadata: { name: 'p', annotations: { 'dapr.io/enabled': 'true' } }, spec: {} }, { groups: [] } as never));
      expect(JSON.parse(res.body).response).toMatchObject({ allowed: false, status: { code: 403, reason: 'Forbidden' } });
    });
  });

  describe('when the HTTP request is wrong', () => {
    it.each([
      ['a body that is not JSON', '/mutate', '{not json', 400, 'the request body is not JSON'],
      ['JSON that is not an AdmissionReview', '/mutate', '{"kind":"Pod"}', 400, 'expected kind "AdmissionReview"'],
      ['a review without a uid', '/mutate', '{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{}}', 400, 'request.uid is missing'],
      ['another path', '/other', '{}', 404, 'POST /mutate'],
    ])('answers %s with HTTP %s', async (_what, path, body, status, message) => {
      const res = await post(server.port, ca, path, body);
      expect(res.status).toBe(status);
      expect(res.body).toContain(message);
    });

    it('answers 415 to a body that is not application/json, as Dapr', async () => {
      const res = await post(server.port, ca, '/mutate', review({}), { 'content-type': 'text/plain' });
      expect(res.status).toBe(415);
    });

    it('answers 405 to GET', async () => {
      const res = await post(server.port, ca, '/mutate', '', {}, 'GET');
      expect(res.status).toBe(405);
    });

    it('counts unreadable requests as failures', async () => {
      const text = await registry.metrics();
      expect(text).toMatch(/dapr_injector_sidecar_injection_failed_total\{app_id="",reason="malformed_request"\} [1-9]/);
    });
  });
});
