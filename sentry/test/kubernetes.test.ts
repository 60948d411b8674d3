// Sentry in Kubernetes mode against the real local API server, running as a service account with exactly the RBAC
// docs/sentry.md lists: it stores and publishes one trust bundle, issues identities only to the pod behind a
// service-account token, and the certificates it issues carry real mutual TLS between processes.
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { SentrySvidSource } from '@tapr/lib/security/sentryClient';
import { formatSpiffeId, protos, silentLogger, spiffeIdFromSubjectAltName } from '@tapr/lib';
import { adminKubeConfig, createCa, createIntermediateCa, createTestNamespace, deleteTestNamespace, issueCertificate, waitFor } from '@tapr/lib/testing';
import { leafPem, refusal, removeClusterRbac, sentryKubeconfig, signCertificate, startSentry, stopAllSentries, type SentryProcess } from './harness.js';
import { opensslCsr, peculiarCsr } from '../src/testing/csr.js';
import { tempDir } from '../src/testing/tempDirs.js';

const kc = adminKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const Validator = protos.sentry.SignCertificateRequest.TokenValidator;

async function createPod(namespace: string, name: string, options: { serviceAccount?: string; annotations?: Record<string, string> } = {}) {
  const serviceAccount = options.serviceAccount ?? 'default';
  await waitFor(() => core.readNamespacedServiceAccount({ name: serviceAccount, namespace }).then(() => true), { what: `service account ${serviceAccount}` });
  return core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, annotations: options.annotations },
      spec: { serviceAccountName: serviceAccount, containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
    },
  });
}

/** A projected-style token bound to the pod, as the injector's sentry token volume provides. */
async function podToken(namespace: string, pod: { metadata?: { name?: string; uid?: string }; spec?: { serviceAccountName?: string } }, audiences: string[]): Promise<string> {
  const response = await core.createNamespacedServiceAccountToken({
    name: pod.spec?.serviceAccountName ?? 'default',
    namespace,
    body: { spec: { audiences, expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata?.name, uid: pod.metadata?.uid } } },
  });
  return response.status?.token as string;
}

async function anchorsOf(namespace: string): Promise<{ secret: Record<string, string>; configMap: string | undefined }> {
  const [secret, configMap] = await Promise.all([
    core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace }),
    core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace }),
  ]);
  const decoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) decoded[key] = Buffer.from(value, 'base64').toString();
  return { secret: decoded, configMap: configMap.data?.['ca.crt'] };
}

function daprsystem(namespace: string) {
  return custom.createNamespacedCustomObject({
    group: 'dapr.io',
    version: 'v1alpha1',
    plural: 'configurations',
    namespace,
    body: {
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Configuration',
      metadata: { name: 'daprsystem', namespace },
      spec: { mtls: { enabled: true, workloadCertTTL: '1h', allowedClockSkew: '1m' } },
    },
  });
}

describe('sentry in Kubernetes mode', () => {
  let controlPlane: string;
  let apps: string;
  let kubeconfig: string;
  let sentry: SentryProcess;
  let rootPem: string;
  let sentryAudience: string;
  const trustDomain = 'cluster.local';
  const target = () => ({ trustAnchorsPem: rootPem, trustDomain, namespace: controlPlane });

  beforeAll(async () => {
    [controlPlane, apps] = await Promise.all([createTestNamespace('sentry-cp'), createTestNamespace('sentry-apps')]);
    kubeconfig = await sentryKubeconfig(controlPlane);
    await daprsystem(controlPlane);
    sentry = await startSentry({
      args: ['-mode=kubernetes', `-kubeconfig=${kubeconfig}`, `-trust-domain=${trustDomain}`, '-trust-bundle-poll-interval=500ms', '-log-level=debug'],
      env: { NAMESPACE: controlPlane, KUBERNETES_SERVICE_HOST: 'anything' },
    });
    rootPem = (await anchorsOf(controlPlane)).configMap as string;
    sentryAudience = `spiffe://${trustDomain}/ns/${controlPlane}/dapr-sentry`;
  });

  afterAll(async () => {
    await stopAllSentries();
    await removeClusterRbac(controlPlane);
    await Promise.all([deleteTestNamespace(controlPlane), deleteTestNamespace(apps)]);
  });

  describe('when it starts with no trust bundle', () => {
    it('generates one, stores it in Secret dapr-trust-bundle and publishes the root in the ConfigMap', async () => {
      const { secret, configMap } = await anchorsOf(controlPlane);
      expect(Object.keys(secret).sort()).toEqual(['ca.crt', 'ca.key', 'issuer.crt', 'issuer.key']);
      expect(configMap).toBe(secret['ca.crt']);
      const root = new X509Certificate(configMap as string);
      const issuer = new X509Certificate(secret['issuer.crt'] as string);
      expect(root.subject).toBe(`O=${trustDomain}`);
      expect(issuer.subject).toBe(`O=spiffe://${trustDomain}/ns/${controlPlane}/dapr-sentry`);
      expect(issuer.verify(root.publicKey)).toBe(true);
    });

    it('serves TLS as dapr-sentry in its namespace, with no DNS names', async () => {
      const socket = tls.connect({ host: '127.0.0.1', port: sentry.grpcPort, ca: rootPem, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
      const cert = await new Promise<tls.PeerCertificate>((resolve, reject) => {
        socket.once('secureConnect', () => resolve(socket.getPeerCertificate()));
        socket.once('error', reject);
      });
      socket.destroy();
      expect(cert.subjectaltname).toBe(`URI:${sentryAudience}`);
    });
  });

  describe('when a pod annotated dapr.io/app-id: orders presents its token', () => {
    let pod: Awaited<ReturnType<typeof createPod>>;
    let token: string;
    beforeAll(async () => {
      await core.createNamespacedServiceAccount({ namespace: apps, body: { metadata: { name: 'orders-sa' } } });
      pod = await createPod(apps, 'orders-0', { serviceAccount: 'orders-sa', annotations: { 'dapr.io/app-id': 'orders' } });
      token = await podToken(apps, pod, [sentryAudience]);
    });

    it.each([
      ['an openssl EC P-256 CSR', async () => opensslCsr('ec')],
      ['an openssl RSA CSR', async () => opensslCsr('rsa')],
      ['a CSR from @peculiar/x509', () => peculiarCsr()],
    ])('issues spiffe://public/ns/<apps>/orders for %s, chained to the published root', async (_name, make) => {
      const csr = await make();
      const response = await signCertificate(sentry.grpcPort, target(), { id: 'orders', namespace: apps, csr: csr.pem, token, validator: Validator.KUBERNETES });
      const leaf = new X509Certificate(leafPem(response));
      expect(leaf.subjectAltName).toBe(`URI:spiffe://public/ns/${apps}/orders`);
      expect(leaf.publicKey.export({ format: 'der', type: 'spki' }).equals(csr.publicKeyInfo)).toBe(true);
      const chain = Buffer.from(response.getWorkloadCertificate_asU8()).toString();
      const issuer = new X509Certificate(chain.slice(chain.indexOf('-----BEGIN CERTIFICATE-----', 10)));
      expect(leaf.verify(issuer.publicKey)).toBe(true);
      expect(issuer.verify(new X509Certificate(rootPem).publicKey)).toBe(true);
      expect(response.getTrustChainCertificatesList_asU8().map((b) => Buffer.from(b).toString())).toEqual([rootPem]);
      expect(response.getValidUntil()?.getSeconds()).toBe(new Date(leaf.validTo).getTime() / 1000);
      // workloadCertTTL 1h and allowedClockSkew 1m come from the daprsystem Configuration.
      expect(new Date(leaf.validTo).getTime() - new Date(leaf.validFrom).getTime()).toBe(61 * 60_000);
    });

    it('uses the KUBERNETES validator when the request names none', async () => {
      const response = await signCertificate(sentry.grpcPort, target(), { id: 'orders', namespace: apps, csr: (await peculiarCsr()).pem, token });
      expect(new X509Certificate(leafPem(response)).subjectAltName).toBe(`URI:spiffe://public/ns/${apps}/orders`);
    });

    it('refuses the same token asking for payments', async () => {
      const error = await refusal(signCertificate(sentry.grpcPort, target(), { id: 'payments', namespace: apps, csr: (await peculiarCsr()).pem, token }));
      expect(error.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(error.details).toBe('app-id mismatch. expected: orders, received: payments');
    });

    it('refuses the same token asking for another namespace', async () => {
      const error = await refusal(signCertificate(sentry.grpcPort, target(), { id: 'orders', namespace: controlPlane, csr: (await peculiarCsr()).pem, token }));
      expect(error.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(error.details).toBe(`namespace mismatch; received namespace: ${controlPlane}, the token is for namespace ${apps}`);
    });

    it('accepts a token for the legacy audience dapr.io/sentry too', async () => {
      const legacy = await podToken(apps, pod, ['dapr.io/sentry']);
      const response = await signCertificate(sentry.grpcPort, target(), { id: 'orders', namespace: apps, csr: (await peculiarCsr()).pem, token: legacy });
      expect(new X509Certificate(leafPem(response)).subjectAltName).toBe(`URI:spiffe://public/ns/${apps}/orders`);
    });

    it('refuses a token for another audience as unauthenticated', async () => {
      const other = await podToken(apps, pod, ['https://kubernetes.default.svc.cluster.local']);
      const error = await refusal(signCertificate(sentry.grpcPort, target(), { id: 'orders', namespace: apps, csr: (await peculiarCsr()).pem, token: other }));
      expect(error.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(error.details).toMatch(/^(invalid token: .*audience|authentication failed)/);
    });

    it('refuses a token that is no longer valid (its pod was deleted) as unauthenticated', async () => {
      const doomed = await createPod(apps, 'orders-doomed', { serviceAccount: 'orders-sa', annotations: { 'dapr.io/app-id': 'orders' } });
      const doomedToken = await podToken(apps, doomed, [sentryAudience]);
      await core.deleteNamespacedPod({ name: 'orders-doomed', namespace: apps, gracePeriodSeconds: 0 });
      await waitFor(() => core.readNamespacedPod({ name: 'orders-doomed', namespace: apps }).then(() => false, () => true), { what: 'the pod to be gone' });
      const error = await refusal(signCertificate(sentry.grpcPort, target(), { id: 'orders', namespace: apps, csr: (await peculiarCsr()).pem, token: doomedToken }));
      expect(error.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(error.details).toContain('invalid token');
    });

    it('refuses a malformed CSR, a bad CSR signature and empty fields with clear messages, and keeps serving', async () => {
      const malformed = await refusal(signCertificate(sentry.grpcPort, target(), { id: 'orders', namespace: apps, csr: 'not a CSR', token }));
      expect(malformed.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(malformed.details).toContain('invalid certificate signing request');

      const csr = opensslCsr('ec');
      const tampered = Buffer.from(csr.der);
      tampered[tampered.indexOf('attacker')] = 'A'.charCodeAt(0);
      const badSignature = await refusal(signCertificate(sentry.grpcPort, target(), { id: 'orders', namespace: apps, csr: tampered, token }));
      expect(badSignature.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(badSignature.details).toBe('invalid signature: the CSR is not signed by the key it contains');

      const empty = await refusal(signCertificate(sentry.grpcPort, target(), { id: '', namespace: '', csr: '', token }));
      expect(empty.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(empty.details).toBe('invalid request: parameter app-id cannot be empty\nCSR is required\nnamespace is required');

      const insecure = await refusal(signCertificate(sentry.grpcPort, target(), { id: 'orders', namespace: apps, csr: csr.pem, validator: Validator.INSECURE }));
      expect(insecure.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(insecure.details).toBe('the requested validator is not enabled');

      const response = await signCertificate(sentry.grpcPort, target(), { id: 'orders', namespace: apps, csr: csr.pem, token });
      expect(new X509Certificate(leafPem(response)).subjectAltName).toBe(`URI:spiffe://public/ns/${apps}/orders`);
    });
  });

  describe('when the pod names a Configuration with an access-control trust domain', () => {
    it('issues in that trust domain', async () => {
      await custom.createNamespacedCustomObject({
        group: 'dapr.io',
        version: 'v1alpha1',
        plural: 'configurations',
        namespace: apps,
        body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Configuration', metadata: { name: 'appconfig' }, spec: { accessControl: { trustDomain: 'shop.example' } } },
      });
      const pod = await createPod(apps, 'cart-0', { annotations: { 'dapr.io/app-id': 'cart', 'dapr.io/config': 'appconfig' } });
      const response = await signCertificate(sentry.grpcPort, target(), { id: 'cart', namespace: apps, csr: (await peculiarCsr()).pem, token: await podToken(apps, pod, [sentryAudience]) });
      expect(new X509Certificate(leafPem(response)).subjectAltName).toBe(`URI:spiffe://shop.example/ns/${apps}/cart`);
    });

    it('issues in public to a pod without an app-id annotation, under its pod name', async () => {
      const pod = await createPod(apps, 'plain-0');
      const response = await signCertificate(sentry.grpcPort, target(), { id: 'plain-0', namespace: apps, csr: (await peculiarCsr()).pem, token: await podToken(apps, pod, [sentryAudience]) });
      expect(new X509Certificate(leafPem(response)).subjectAltName).toBe(`URI:spiffe://public/ns/${apps}/plain-0`);
    });
  });

  describe('when a control-plane pod uses SentrySvidSource (what tapr services run)', () => {
    it('gets dapr-operator in the control-plane trust domain with Dapr\'s webhook DNS name', async () => {
      await core.createNamespacedServiceAccount({ namespace: controlPlane, body: { metadata: { name: 'dapr-operator' } } });
      const pod = await createPod(controlPlane, 'dapr-operator-0', { serviceAccount: 'dapr-operator', annotations: { 'dapr.io/control-plane': 'operator' } });
      const token = await podToken(controlPlane, pod, [sentryAudience]);
      const source = new SentrySvidSource({
        sentryAddress: `127.0.0.1:${sentry.grpcPort}`,
        trustAnchors: () => rootPem,
        trustDomain,
        controlPlaneNamespace: controlPlane,
        id: 'dapr-operator',
        namespace: controlPlane,
        requestTrustDomain: trustDomain,
        token: () => token,
        validator: 'KUBERNETES',
        logger: silentLogger(),
      });
      const svid = await source.fetch();
      expect(formatSpiffeId(svid.id)).toBe(`spiffe://${trustDomain}/ns/${controlPlane}/dapr-operator`);
      const leaf = new X509Certificate(svid.certChainPem.slice(0, svid.certChainPem.indexOf('-----END CERTIFICATE-----') + 25));
      expect(leaf.subjectAltName).toBe(`URI:spiffe://${trustDomain}/ns/${controlPlane}/dapr-operator, DNS:dapr-webhook.${controlPlane}.svc`);
    });
  });

  describe('when two processes hold certificates for two app ids', () => {
    let orders: { cert: string; key: string };
    let payments: { cert: string; key: string };
    beforeAll(async () => {
      const issue = async (name: string) => {
        const pod = await createPod(apps, `${name}-tls`, { annotations: { 'dapr.io/app-id': name } });
        const token = await podToken(apps, pod, [sentryAudience]);
        const source = new SentrySvidSource({
          sentryAddress: `127.0.0.1:${sentry.grpcPort}`,
          trustAnchors: () => rootPem,
          trustDomain,
          controlPlaneNamespace: controlPlane,
          id: name,
          namespace: apps,
          token: () => token,
          validator: 'KUBERNETES',
          logger: silentLogger(),
        });
        const svid = await source.fetch();
        return { cert: svid.certChainPem, key: svid.keyPem };
      };
      [orders, payments] = await Promise.all([issue('orders'), issue('payments')]);
    });

    it('completes a mutual-TLS handshake, each side verifying the other\'s SPIFFE ID against the root', async () => {
      const server = await tlsServerProcess({ ...orders, ca: rootPem, expectClient: `spiffe://public/ns/${apps}/payments` });
      try {
        const answer = await tlsClient(server.port, { ...payments, ca: rootPem, expectServer: `spiffe://public/ns/${apps}/orders` });
        expect(answer).toBe(`hello spiffe://public/ns/${apps}/payments`);
      } finally {
        server.stop();
      }
    });

    it('fails the handshake for a client certificate from another root', async () => {
      const otherRoot = await createCa('another root');
      const impostor = await issueCertificate(otherRoot, { commonName: '', uris: [`spiffe://public/ns/${apps}/payments`], usage: 'both' });
      const server = await tlsServerProcess({ ...orders, ca: rootPem, expectClient: `spiffe://public/ns/${apps}/payments` });
      try {
        await expect(tlsClient(server.port, { cert: impostor.certPem, key: impostor.keyPem, ca: rootPem, expectServer: `spiffe://public/ns/${apps}/orders` })).rejects.toThrow();
      } finally {
        server.stop();
      }
    });

    it('fails the handshake for a server the client cannot verify against its root', async () => {
      const otherRoot = await createCa('another root');
      const server = await tlsServerProcess({ ...orders, ca: rootPem, expectClient: `spiffe://public/ns/${apps}/payments` });
      try {
        await expect(tlsClient(server.port, { ...payments, ca: otherRoot.certPem, expectServer: `spiffe://public/ns/${apps}/orders` })).rejects.toThrow(/certificate/);
      } finally {
        server.stop();
      }
    });
  });

  describe('when it is scraped', () => {
    it('exports Dapr\'s sentry metrics', async () => {
      const text = await sentry.metrics();
      expect(Number(/^dapr_sentry_cert_sign_success_total (\d+)/m.exec(text)?.[1])).toBeGreaterThan(0);
      expect(text).toMatch(/^dapr_sentry_cert_sign_failure_total\{reason="permission_denied"\} [1-9]/m);
      expect(text).toMatch(/^dapr_sentry_cert_sign_failure_total\{reason="unauthenticated"\} [1-9]/m);
      expect(text).toMatch(/^dapr_sentry_cert_sign_failure_total\{reason="invalid_csr"\} [1-9]/m);
      const issuerExpiry = Number(/^dapr_sentry_issuercert_expiry_timestamp (\d+)$/m.exec(text)?.[1]);
      expect(Math.abs(issuerExpiry - (Date.now() / 1000 + 365 * 86400))).toBeLessThan(120);
      expect(text).toMatch(/^dapr_sentry_trust_bundle_ready 1$/m);
    });
  });

  describe('when the Secret is changed while sentry runs', () => {
    it('signs with a replaced (bring-your-own) bundle without a restart', async () => {
      const root = await createCa('my own root');
      const issuer = await createIntermediateCa(root, 'my own issuer');
      await core.replaceNamespacedSecret({
        name: 'dapr-trust-bundle',
        namespace: controlPlane,
        body: {
          ...(await core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: controlPlane })),
          data: {
            'ca.crt': Buffer.from(root.certPem).toString('base64'),
            'issuer.crt': Buffer.from(issuer.certPem).toString('base64'),
            'issuer.key': Buffer.from(issuer.keyPem).toString('base64'),
          },
        },
      });
      const configMap = await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: controlPlane });
      await core.replaceNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: controlPlane, body: { ...configMap, data: { 'ca.crt': root.certPem } } });
      const pod = await createPod(apps, 'byo-0', { annotations: { 'dapr.io/app-id': 'byo' } });
      const token = await podToken(apps, pod, [sentryAudience]);
      const response = await waitFor(
        () => signCertificate(sentry.grpcPort, { ...target(), trustAnchorsPem: root.certPem }, { id: 'byo', namespace: apps, csr: opensslCsr('ec').pem, token }),
        { what: 'a certificate under the new root', timeoutMs: 30_000 },
      );
      expect(new X509Certificate(leafPem(response)).verify(new X509Certificate(issuer.certPem).publicKey)).toBe(true);
      expect(Buffer.from(response.getTrustChainCertificatesList_asU8()[0] as Uint8Array).toString()).toBe(root.certPem);
      rootPem = root.certPem;
    });

    it('fails closed when the issuer key is removed, and recovers when it is restored', async () => {
      const secret = await core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: controlPlane });
      const { 'issuer.key': key, ...rest } = secret.data ?? {};
      await core.replaceNamespacedSecret({ name: 'dapr-trust-bundle', namespace: controlPlane, body: { ...secret, data: rest } });
      await waitFor(async () => (await sentry.healthz()) === 503, { what: 'sentry to turn unhealthy' });
      const pod = await createPod(apps, 'closed-0', { annotations: { 'dapr.io/app-id': 'closed' } });
      const token = await podToken(apps, pod, [sentryAudience]);
      const error = await refusal(signCertificate(sentry.grpcPort, target(), { id: 'closed', namespace: apps, csr: opensslCsr('ec').pem, token }));
      expect(error.code).toBe(grpc.status.UNAVAILABLE);
      expect(error.details).toContain('is incomplete (missing issuer.key); refusing to generate a new one');
      // Nothing was generated over the partial bundle.
      expect(Object.keys((await anchorsOf(controlPlane)).secret).sort()).toEqual(['ca.crt', 'issuer.crt']);

      const current = await core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: controlPlane });
      await core.replaceNamespacedSecret({ name: 'dapr-trust-bundle', namespace: controlPlane, body: { ...current, data: { ...current.data, 'issuer.key': key as string } } });
      await waitFor(async () => (await sentry.healthz()) === 200, { what: 'sentry to recover' });
      const response = await signCertificate(sentry.grpcPort, target(), { id: 'closed', namespace: apps, csr: opensslCsr('ec').pem, token });
      expect(new X509Certificate(leafPem(response)).subjectAltName).toBe(`URI:spiffe://public/ns/${apps}/closed`);
    });
  });

  describe('when it is stopped', () => {
    it('exits 0 on SIGINT', async () => {
      expect(await sentry.stop()).toBe(0);
    });
  });
});

/** A TLS server in its own process: requires a client certificate and answers only the expected SPIFFE ID. */
async function tlsServerProcess(options: { cert: string; key: string; ca: string; expectClient: string }): Promise<{ port: number; stop(): void }> {
  const dir = tempDir('tls-peer-');
  const script = path.join(dir, 'server.mjs');
  writeFileSync(
    script,
    `import tls from 'node:tls';
const { KEY, CERT, CA, EXPECT } = process.env;
const server = tls.createServer({ key: KEY, cert: CERT, ca: CA, requestCert: true, rejectUnauthorized: true }, (socket) => {
  const peer = socket.getPeerCertificate();
  socket.end(peer.subjectaltname === 'URI:' + EXPECT ? 'hello ' + EXPECT : 'wrong peer ' + peer.subjectaltname);
});
server.on('tlsClientError', () => undefined);
server.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port));
`,
  );
  const child = spawn(process.execPath, [script], { env: { KEY: options.key, CERT: options.cert, CA: options.ca, EXPECT: options.expectClient }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /PORT (\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`TLS server exited with ${code}`)));
  });
  return { port, stop: () => child.kill() };
}

function tlsClient(port: number, options: { cert: string; key: string; ca: string; expectServer: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      cert: options.cert,
      key: options.key,
      ca: options.ca,
      checkServerIdentity: (_host, cert) => {
        const id = spiffeIdFromSubjectAltName(cert.subjectaltname);
        return id && formatSpiffeId(id) === options.expectServer ? undefined : new Error(`unexpected server identity ${cert.subjectaltname}`);
      },
    });
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('end', () => (data ? resolve(data) : reject(new Error('the server closed the connection without an answer'))));
    socket.on('error', reject);
  });
}
