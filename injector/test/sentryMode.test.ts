// `--cert-source sentry` (chosen by `auto` because DAPR_SENTRY_ADDRESS is set, as Helm sets it): the injector
// gets its SVID from the real sentry binary, serves the webhook with it, and puts sentry's trust anchors in the
// webhook configuration's caBundle. Needs `npx tsc -b sentry injector`.
// The API server cannot call this webhook here: sentry's certificate names dapr-sidecar-injector.<ns>.svc, which
// only a Service (and a cluster network) resolves; so the test calls it directly, checking the name the API
// server would check.
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import https from 'node:https';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { adminKubeConfig, createTestNamespace, deleteTestNamespace, freePort, testCluster, waitFor } from '@tapr/lib/testing';
import { sidecarInjectorWebhookConfiguration } from '../src/webhookConfiguration.js';
import { injectorMain, sentryMain, startProcess, waitHealthy, type ServiceProcess } from './processes.js';

describe('the injector with a certificate from sentry', () => {
  const admission = adminKubeConfig().makeApiClient(AdmissionregistrationV1Api);
  const webhookConfigurationName = `tapr-injector-sentry-${randomBytes(3).toString('hex')}`;
  let namespace: string;
  let sentry: ServiceProcess;
  let injector: ServiceProcess;
  let injectorPort: number;
  let trustAnchorsPem: string;

  beforeAll(async () => {
    namespace = await createTestNamespace('injector-sentry');
    const dir = mkdtempSync(path.join(tmpdir(), 'tapr-injector-sentry-'));
    mkdirSync(path.join(dir, 'credentials'));
    writeFileSync(path.join(dir, 'config.yaml'), '');
    const [sentryPort, sentryHealth, sentryMetrics] = [await freePort(), await freePort(), await freePort()];
    sentry = startProcess(
      sentryMain,
      [
        `-port=${sentryPort}`,
        '-listen-address=127.0.0.1',
        `-healthz-port=${sentryHealth}`,
        `-metrics-port=${sentryMetrics}`,
        `-issuer-credentials=${path.join(dir, 'credentials')}`,
        '-trust-domain=cluster.local',
        `-config=${path.join(dir, 'config.yaml')}`,
      ],
      { NAMESPACE: namespace },
    );
    await waitHealthy(sentry, sentryHealth, 'sentry');
    const trustAnchorsFile = path.join(dir, 'credentials', 'ca.crt');
    trustAnchorsPem = readFileSync(trustAnchorsFile, 'utf8');

    // Registered so the caBundle can be checked; it selects no namespace, so the API server never calls it.
    await admission.createMutatingWebhookConfiguration({
      body: sidecarInjectorWebhookConfiguration({
        name: webhookConfigurationName,
        controlPlaneNamespace: namespace,
        url: 'https://127.0.0.1:1/mutate',
        namespaceSelector: { matchLabels: { 'tapr.dev/injector-sentry-test': 'none' } },
      }),
    });

    const [port, health] = [await freePort(), await freePort()];
    injectorPort = port;
    injector = startProcess(
      injectorMain,
      [
        `-port=${port}`,
        '-listen-address=127.0.0.1',
        `-healthz-port=${health}`,
        '-enable-metrics=false',
        '-log-level=debug',
        `-kubeconfig=${testCluster().kubeconfig}`,
        `--webhook-configuration-name=${webhookConfigurationName}`,
      ],
      {
        NAMESPACE: namespace,
        SIDECAR_IMAGE: 'ghcr.io/dapr/daprd:1.17.0',
        DAPR_TRUST_ANCHORS_FILE: trustAnchorsFile,
        DAPR_CONTROL_PLANE_TRUST_DOMAIN: 'cluster.local',
        // As Dapr's integration framework starts the injector: `localhost` (sentry listens on 127.0.0.1 only),
        // KUBERNETES_SERVICE_HOST without a port (must not mean in-cluster), no PATH or HOME.
        DAPR_SENTRY_ADDRESS: `localhost:${sentryPort}`,
        KUBERNETES_SERVICE_HOST: 'anything',
        KUBE_CLUSTER_DOMAIN: 'cluster.local',
      },
    );
    await waitHealthy(injector, health, 'the injector');
  });

  afterAll(async () => {
    await injector?.stop();
    await sentry?.stop();
    await admission.deleteMutatingWebhookConfiguration({ name: webhookConfigurationName }).catch(() => undefined);
    await deleteTestNamespace(namespace);
  });

  it("puts sentry's trust anchors in the webhook caBundle", async () => {
    const configuration = await admission.readMutatingWebhookConfiguration({ name: webhookConfigurationName });
    expect(Buffer.from(configuration.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString()).toBe(trustAnchorsPem);
  });

  it('serves its SVID, which verifies against the caBundle under the Service name the API server checks', async () => {
    const body = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'u-1',
        kind: { kind: 'Pod' },
        operation: 'CREATE',
        namespace: 'shop',
        userInfo: { username: 'admin', groups: ['system:masters'] },
        object: { metadata: { name: 'web', annotations: { 'dapr.io/enabled': 'true' } }, spec: { containers: [{ name: 'app' }] } },
      },
    });
    const { status, text, peer } = await new Promise<{ status: number; text: string; peer: X509Certificate }>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: injectorPort,
          path: '/mutate',
          method: 'POST',
          ca: trustAnchorsPem,
          servername: `dapr-sidecar-injector.${namespace}.svc`,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          const peer = new X509Certificate((res.socket as import('node:tls').TLSSocket).getPeerCertificate().raw);
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text, peer }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
    expect(peer.subjectAltName).toContain(`URI:spiffe://cluster.local/ns/${namespace}/dapr-injector`);
    expect(peer.subjectAltName).toContain(`DNS:dapr-sidecar-injector.${namespace}.svc`);
    const response = JSON.parse(text).response;
    const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString()) as Array<{ path: string; value: { env: Array<{ name: string; value?: string }> } }>;
    const daprd = patch.find((op) => op.path === '/spec/containers/-')!.value;
    expect(daprd.env.find((e) => e.name === 'DAPR_TRUST_ANCHORS')?.value).toBe(trustAnchorsPem);
  });

  it('stops with exit code 0', async () => {
    expect(await injector.stop()).toBe(0);
    await waitFor(async () => (await sentry.stop()) === 0, { what: 'sentry to stop' });
  });
});
