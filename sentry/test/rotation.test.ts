// A whole root rotation with shortened lifetimes (root and issuer 60 s, workload certificates 10 s) while two apps
// keep renewing their SVIDs from sentry and completing mutual-TLS handshakes with each other every 100 ms. The apps
// trust what the ConfigMap publishes, as control-plane services do through its mount.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { SentrySvidSource } from '@tapr/lib/security/sentryClient';
import { formatSpiffeId, silentLogger, spiffeIdFromSubjectAltName, type Svid } from '@tapr/lib';
import { adminKubeConfig, createTestNamespace, deleteTestNamespace, waitFor } from '@tapr/lib/testing';
import { removeClusterRbac, sentryKubeconfig, startSentry, stopAllSentries } from './harness.js';

const kc = adminKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const trustDomain = 'cluster.local';

const pemCount = (pem: string | undefined) => (pem ?? '').split('-----BEGIN CERTIFICATE-----').length - 1;

describe('trust bundle rotation', () => {
  let controlPlane: string;
  let apps: string;
  const controllers: AbortController[] = [];

  beforeAll(async () => {
    [controlPlane, apps] = await Promise.all([createTestNamespace('sentry-rot-cp'), createTestNamespace('sentry-rot-apps')]);
  });
  afterAll(async () => {
    controllers.forEach((c) => c.abort());
    await stopAllSentries();
    await removeClusterRbac(controlPlane);
    await Promise.all([deleteTestNamespace(controlPlane), deleteTestNamespace(apps)]);
  });

  it('adds, switches to and retires a new root while every handshake keeps succeeding', async () => {
    const kubeconfig = await sentryKubeconfig(controlPlane);
    await custom.createNamespacedCustomObject({
      group: 'dapr.io',
      version: 'v1alpha1',
      plural: 'configurations',
      namespace: controlPlane,
      body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Configuration', metadata: { name: 'daprsystem' }, spec: { mtls: { enabled: true, workloadCertTTL: '10s', allowedClockSkew: '1s' } } },
    });
    const sentry = await startSentry({
      args: ['-mode=kubernetes', `-kubeconfig=${kubeconfig}`, `-trust-domain=${trustDomain}`, '-root-cert-ttl=60s', '-issuer-cert-ttl=60s', '-trust-bundle-poll-interval=500ms'],
      env: { NAMESPACE: controlPlane, KUBERNETES_SERVICE_HOST: 'anything' },
    });
    const sentryAudience = `spiffe://${trustDomain}/ns/${controlPlane}/dapr-sentry`;

    // What the ConfigMap publishes, followed the way a mounted file would be (polled).
    let published = (await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: controlPlane })).data?.['ca.crt'] as string;
    const firstRoot = new X509Certificate(published);
    const anchorHistory: number[] = [1];
    const poll = setInterval(() => {
      core
        .readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: controlPlane })
        .then((cm) => {
          const next = cm.data?.['ca.crt'];
          if (next && next !== published) {
            published = next;
            anchorHistory.push(pemCount(next));
          }
        })
        .catch(() => undefined);
    }, 250);

    const svidFor = async (name: string): Promise<SentrySvidSource> => {
      const pod = await waitFor(
        () =>
          core.createNamespacedPod({
            namespace: apps,
            body: { metadata: { name, annotations: { 'dapr.io/app-id': name } }, spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] } },
          }),
        { what: `pod ${name}` },
      );
      const token = await core.createNamespacedServiceAccountToken({
        name: 'default',
        namespace: apps,
        body: { spec: { audiences: [sentryAudience], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name, uid: pod.metadata?.uid } } },
      });
      const source = new SentrySvidSource({
        sentryAddress: `127.0.0.1:${sentry.grpcPort}`,
        trustAnchors: () => published,
        trustDomain,
        controlPlaneNamespace: controlPlane,
        id: name,
        namespace: apps,
        token: () => token.status?.token as string,
        validator: 'KUBERNETES',
        logger: silentLogger(),
        retryMs: 500,
        anchorsCheckMs: 100,
      });
      const controller = new AbortController();
      controllers.push(controller);
      void source.run(controller.signal);
      await source.ready();
      return source;
    };
    const [alpha, beta] = await Promise.all([svidFor('alpha'), svidFor('beta')]);

    // alpha serves, following its SVID; beta connects every 100 ms with its own.
    const context = (svid: Svid) => ({ key: svid.keyPem, cert: svid.certChainPem, ca: svid.trustAnchorsPem });
    const server = tls.createServer({ ...context(alpha.current() as Svid), requestCert: true, rejectUnauthorized: true }, (socket) => {
      const id = spiffeIdFromSubjectAltName(socket.getPeerCertificate().subjectaltname);
      socket.end(id && formatSpiffeId(id) === `spiffe://public/ns/${apps}/beta` ? 'ok' : 'wrong peer');
    });
    server.on('tlsClientError', () => undefined);
    alpha.subscribe((svid) => server.setSecureContext(context(svid)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;

    const failures: string[] = [];
    let successes = 0;
    const issuerRoots = new Set<string>();
    const handshake = () =>
      new Promise<void>((resolve) => {
        const svid = beta.current() as Svid;
        const socket = tls.connect({
          host: '127.0.0.1',
          port,
          ...context(svid),
          checkServerIdentity: (_host, cert) => {
            const id = spiffeIdFromSubjectAltName(cert.subjectaltname);
            return id && formatSpiffeId(id) === `spiffe://public/ns/${apps}/alpha` ? undefined : new Error(`unexpected server ${cert.subjectaltname}`);
          },
        });
        let answer = '';
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
        socket.on('end', () => {
          if (answer === 'ok') successes++;
          else failures.push(`${new Date().toISOString()} answer: ${answer}`);
          resolve();
        });
        socket.on('error', (error) => {
          failures.push(`${new Date().toISOString()} ${error.message}`);
          resolve();
        });
        // Which root signed the issuer of beta's current certificate.
        const chain = svid.certChainPem;
        const issuer = new X509Certificate(chain.slice(chain.indexOf('-----BEGIN CERTIFICATE-----', 10)));
        for (const root of published.split(/(?=-----BEGIN CERTIFICATE-----)/)) {
          if (root.trim() && issuer.verify(new X509Certificate(root).publicKey)) issuerRoots.add(new X509Certificate(root).fingerprint256);
        }
      });

    let running = true;
    const loop = (async () => {
      while (running) {
        await handshake();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    try {
      // Rotation is complete when exactly one root is published again and it is not the first one.
      await waitFor(
        () => {
          if (anchorHistory.length < 3 || pemCount(published) !== 1) return false;
          return !new X509Certificate(published).raw.equals(firstRoot.raw);
        },
        { timeoutMs: 110_000, intervalMs: 250, what: `the rotation to finish (published roots so far: ${anchorHistory.join(' → ')})` },
      );
      // Keep going a little longer on the new root alone.
      await new Promise((resolve) => setTimeout(resolve, 3000));
    } finally {
      running = false;
      await loop;
      clearInterval(poll);
      server.close();
    }

    expect(failures).toEqual([]);
    expect(successes).toBeGreaterThan(300);
    expect(anchorHistory).toEqual([1, 2, 1]);
    // beta's certificates were issued under both roots over the run.
    expect(issuerRoots.size).toBe(2);

    const events = await core.listNamespacedEvent({ namespace: controlPlane, fieldSelector: 'involvedObject.name=dapr-trust-bundle' });
    const steps = events.items.filter((e) => e.reason === 'TrustBundleRotated').map((e) => (e.message ?? '').split(' ')[3]);
    expect(steps).toEqual(expect.arrayContaining(['add-next-root', 'switch-to-next-root', 'retire-previous-roots']));
    expect(events.items.some((e) => e.reason === 'TrustBundleGenerated')).toBe(true);
  }, 180_000);
});
