import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as grpc from '@grpc/grpc-js';
import { webcrypto } from 'node:crypto';
import { protos } from '../index.js';
import { silentLogger } from '../logger.js';
import { createTestTrustBundle, issueTestSvid, type TestTrustBundle } from '../testing/svid.js';
import { waitFor } from '../testing/wait.js';
import { StaticSvidSource, type Svid } from './svid.js';
import { grpcServerCredentials } from './grpcTls.js';
import { SentrySvidSource, type SentrySvidSourceOptions } from './sentryClient.js';
import { formatSpiffeId, type SpiffeId } from './spiffe.js';

type Request = InstanceType<typeof protos.sentry.SignCertificateRequest>;
const sentryId: SpiffeId = { trustDomain: 'cluster.local', namespace: 'dapr-system', appId: 'dapr-sentry' };
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

interface FakeSentry {
  port: number;
  requests: Request[];
  /** What to answer: the SPIFFE ID to certify (default: the one asked for), or a gRPC error. */
  answer: (request: Request) => { issue?: string; validityMs?: number; error?: grpc.status };
  stop(): void;
}

// A stand-in for sentry (the real one is tested in sentry/test): it certifies the CSR's key with the test issuer.
async function fakeSentry(bundle: TestTrustBundle, serverSvid: Svid): Promise<FakeSentry> {
  const fake: FakeSentry = { port: 0, requests: [], answer: () => ({}), stop: () => undefined };
  const server = new grpc.Server();
  server.addService(protos.sentryGrpc.CAService, {
    signCertificate: (call: grpc.ServerUnaryCall<Request, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      fake.requests.push(call.request);
      const answer = fake.answer(call.request);
      if (answer.error !== undefined) return callback({ code: answer.error, details: 'refused by the test' });
      const csr = new x509.Pkcs10CertificateRequest(Buffer.from(call.request.getCertificateSigningRequest_asU8()).toString());
      const uri = answer.issue ?? formatSpiffeId({ trustDomain: call.request.getTrustDomain() || 'public', namespace: call.request.getNamespace(), appId: call.request.getId() });
      const now = Date.now();
      void csr.publicKey
        .export(ecdsa, ['verify'], webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])
        .then((publicKey) =>
          x509.X509CertificateGenerator.create({
            subject: '',
            issuer: bundle.issuer.cert.subject,
            publicKey,
            signingKey: bundle.issuer.keys.privateKey,
            signingAlgorithm: ecdsa,
            notBefore: new Date(now - 1000),
            notAfter: new Date(now + (answer.validityMs ?? 3_600_000)),
            extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }], true)],
          }),
        )
        .then((cert) => {
          const response = new protos.sentry.SignCertificateResponse();
          response.setWorkloadCertificate(Buffer.from(`${cert.toString('pem')}\n${bundle.issuer.certPem}`));
          response.setTrustChainCertificatesList([Buffer.from(bundle.rootPem)]);
          const validUntil = new protos.timestamp.Timestamp();
          validUntil.setSeconds(Math.floor(cert.notAfter.getTime() / 1000));
          response.setValidUntil(validUntil);
          callback(null, response);
        })
        .catch((error: Error) => callback({ code: grpc.status.INTERNAL, details: error.message }));
    },
  });
  fake.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpcServerCredentials(new StaticSvidSource(serverSvid), { requireClientCert: false }), (e, p) => (e ? reject(e) : resolve(p))),
  );
  fake.stop = () => server.forceShutdown();
  return fake;
}

describe('SentrySvidSource', () => {
  let bundle: TestTrustBundle;
  let fake: FakeSentry;
  const running: AbortController[] = [];

  const source = (extra: Partial<SentrySvidSourceOptions> = {}) => {
    const svids = new SentrySvidSource({
      sentryAddress: `127.0.0.1:${fake.port}`,
      trustAnchors: () => bundle.rootPem,
      trustDomain: 'cluster.local',
      controlPlaneNamespace: 'dapr-system',
      id: 'dapr-operator',
      namespace: 'dapr-system',
      requestTrustDomain: 'cluster.local',
      token: async () => 'the-token',
      validator: 'KUBERNETES',
      logger: silentLogger(),
      retryMs: 50,
      ...extra,
    });
    const controller = new AbortController();
    running.push(controller);
    void svids.run(controller.signal);
    return svids;
  };

  beforeAll(async () => {
    bundle = await createTestTrustBundle();
    fake = await fakeSentry(bundle, await issueTestSvid(bundle, sentryId));
  });
  afterEach(() => {
    running.splice(0).forEach((c) => c.abort());
    fake.requests.length = 0;
    fake.answer = () => ({});
  });
  afterAll(() => fake.stop());

  describe('when sentry answers', () => {
    it('sends a Dapr-shaped request and returns the SVID with its key', async () => {
      const svid = await source().ready();
      const request = fake.requests[0] as Request;
      expect(request.getId()).toBe('dapr-operator');
      expect(request.getNamespace()).toBe('dapr-system');
      expect(request.getTrustDomain()).toBe('cluster.local');
      expect(request.getToken()).toBe('the-token');
      expect(request.getTokenValidator()).toBe(protos.sentry.SignCertificateRequest.TokenValidator.KUBERNETES);
      const csrPem = Buffer.from(request.getCertificateSigningRequest_asU8()).toString();
      expect(csrPem.startsWith('-----BEGIN CERTIFICATE REQUEST-----')).toBe(true);
      const csr = new x509.Pkcs10CertificateRequest(csrPem);
      expect(csr.subject).toBe('');
      expect(csr.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
      expect(await csr.verify()).toBe(true);

      expect(formatSpiffeId(svid.id)).toBe('spiffe://cluster.local/ns/dapr-system/dapr-operator');
      expect(svid.trustAnchorsPem).toBe(bundle.rootPem);
      expect(svid.certChainPem).toContain(bundle.issuer.certPem.trim());
      expect(svid.keyPem.startsWith('-----BEGIN PRIVATE KEY-----')).toBe(true);
      const leaf = new x509.X509Certificate(svid.certChainPem.slice(0, svid.certChainPem.indexOf('-----END CERTIFICATE-----') + 25));
      expect(leaf.notAfter.getTime()).toBe(svid.notAfter.getTime());
    });

    it('renews at half of the certificate life, with a new key', async () => {
      fake.answer = () => ({ validityMs: 2000 });
      const svids = source();
      const first = await svids.ready();
      const second = await waitFor(() => (svids.current() !== first ? svids.current() : undefined), { timeoutMs: 5000, what: 'a renewed SVID' });
      expect(second.keyPem).not.toBe(first.keyPem);
      expect(fake.requests.length).toBeGreaterThanOrEqual(2);
    });

    it('announces new trust anchors without a new certificate', async () => {
      let anchors = bundle.rootPem;
      const other = await createTestTrustBundle('other.local');
      const svids = source({ trustAnchors: () => anchors, anchorsCheckMs: 20 });
      await svids.ready();
      anchors = bundle.rootPem + other.rootPem;
      await waitFor(() => svids.current()?.trustAnchorsPem === anchors, { timeoutMs: 2000, what: 'the new anchors' });
      expect(fake.requests).toHaveLength(1);
    });
  });

  describe('when sentry refuses or cannot be trusted', () => {
    it('retries after an error until sentry issues', async () => {
      let calls = 0;
      fake.answer = () => (++calls < 3 ? { error: grpc.status.UNAVAILABLE } : {});
      await source().ready();
      expect(calls).toBe(3);
    });

    it('rejects a certificate for another identity', async () => {
      fake.answer = () => ({ issue: 'spiffe://cluster.local/ns/dapr-system/dapr-sentry' });
      const svids = source();
      await expect(svids.fetch()).rejects.toThrow('sentry issued spiffe://cluster.local/ns/dapr-system/dapr-sentry, not the identity asked for (dapr-operator in dapr-system)');
    });

    it('does not talk to a server that is not sentry', async () => {
      const impostor = await fakeSentry(bundle, await issueTestSvid(bundle, { ...sentryId, appId: 'dapr-operator' }));
      try {
        const svids = new SentrySvidSource({
          sentryAddress: `127.0.0.1:${impostor.port}`,
          trustAnchors: () => bundle.rootPem,
          trustDomain: 'cluster.local',
          controlPlaneNamespace: 'dapr-system',
          id: 'app',
          namespace: 'default',
          logger: silentLogger(),
        });
        await expect(svids.fetch()).rejects.toThrow(/SignCertificate failed \(UNAVAILABLE\)/);
        expect(impostor.requests).toHaveLength(0);
      } finally {
        impostor.stop();
      }
    });
  });
});
