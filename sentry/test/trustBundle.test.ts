// How sentry treats the stored trust bundle in Kubernetes: two sentries starting together store one bundle; a Secret
// and ConfigMap that disagree never lead to a new root; a user-supplied bundle close to expiry is loud.
import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { adminKubeConfig, createTestNamespace, deleteTestNamespace, waitFor } from '@tapr/lib/testing';
import { removeClusterRbac, sentryKubeconfig, signCertificate, startSentry, stopAllSentries, type SentryProcess } from './harness.js';
import { generateIssuer, generateRoot } from '../src/ca/generate.js';
import { peculiarCsr } from '../src/testing/csr.js';

const kc = adminKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const trustDomain = 'cluster.local';

async function controlPlaneNamespace(prefix: string): Promise<{ namespace: string; kubeconfig: string }> {
  const namespace = await createTestNamespace(prefix);
  const kubeconfig = await sentryKubeconfig(namespace);
  await custom.createNamespacedCustomObject({
    group: 'dapr.io',
    version: 'v1alpha1',
    plural: 'configurations',
    namespace,
    body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Configuration', metadata: { name: 'daprsystem' }, spec: { mtls: { enabled: true } } },
  });
  return { namespace, kubeconfig };
}

function sentryIn(cp: { namespace: string; kubeconfig: string }, waitHealthy = true): Promise<SentryProcess> {
  return startSentry({
    args: ['-mode=kubernetes', `-kubeconfig=${cp.kubeconfig}`, `-trust-domain=${trustDomain}`, '-trust-bundle-poll-interval=500ms'],
    env: { NAMESPACE: cp.namespace, KUBERNETES_SERVICE_HOST: 'anything' },
    waitHealthy,
  });
}

describe('the trust bundle in Kubernetes', () => {
  const namespaces: string[] = [];
  afterAll(async () => {
    await stopAllSentries();
    await Promise.all(namespaces.flatMap((ns) => [removeClusterRbac(ns), deleteTestNamespace(ns)]));
  });

  describe('when two sentries start together on an empty namespace', () => {
    it('ends with one bundle that both sign with', async () => {
      const cp = await controlPlaneNamespace('sentry-race');
      namespaces.push(cp.namespace);
      const [a, b] = await Promise.all([sentryIn(cp), sentryIn(cp)]);
      const secret = await core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: cp.namespace });
      const root = Buffer.from(secret.data?.['ca.crt'] as string, 'base64').toString();
      expect(root.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
      const published = (await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: cp.namespace })).data?.['ca.crt'];
      expect(published).toBe(root);
      const target = { trustAnchorsPem: root, trustDomain, namespace: cp.namespace };
      // Both answer over TLS verified against the one stored root, with certificates chaining to it.
      for (const sentry of [a, b]) {
        const error = await signCertificate(sentry.grpcPort, target, { id: 'x', namespace: 'y', csr: (await peculiarCsr()).pem, token: 'not-a-token' }).catch((e: { code: number }) => e);
        // Reaching the token check means the TLS handshake verified sentry's certificate against the stored root.
        expect((error as { code: number }).code).toBe(grpc.status.UNAUTHENTICATED);
      }
      const generated = [a, b].filter((s) => s.output().includes('no trust bundle found: generating')).length;
      const lost = [a, b].filter((s) => s.output().includes('another sentry stored a trust bundle first')).length;
      expect(generated).toBeGreaterThanOrEqual(1);
      expect(generated - lost).toBe(1);
    });
  });

  describe('when the Secret is empty but the ConfigMap still publishes a root', () => {
    it('refuses to generate a new root and stays unready until the operator decides', async () => {
      const cp = await controlPlaneNamespace('sentry-disagree');
      namespaces.push(cp.namespace);
      const oldRoot = await generateRoot({ trustDomain, now: new Date(), ttlMs: 3_600_000, skewMs: 0 });
      await core.createNamespacedSecret({ namespace: cp.namespace, body: { metadata: { name: 'dapr-trust-bundle' }, data: {} } });
      await core.createNamespacedConfigMap({ namespace: cp.namespace, body: { metadata: { name: 'dapr-trust-bundle' }, data: { 'ca.crt': oldRoot.certPem } } });
      const sentry = await sentryIn(cp, false);
      await waitFor(() => sentry.output().includes('refusing to sign'), { what: 'sentry to refuse' });
      expect(await sentry.healthz()).toBe(503);
      expect(sentry.output()).toContain('still publishes trust anchors; refusing to generate a new root');
      const secret = await core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: cp.namespace });
      expect(secret.data ?? {}).toEqual({});

      // Clearing the published root is the decision to start a new trust bundle.
      const cm = await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: cp.namespace });
      await core.replaceNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: cp.namespace, body: { ...cm, data: {} } });
      await waitFor(async () => (await sentry.healthz()) === 200, { what: 'sentry to generate and become ready' });
      const events = await core.listNamespacedEvent({ namespace: cp.namespace, fieldSelector: 'involvedObject.name=dapr-trust-bundle' });
      expect(events.items.map((e) => e.reason)).toEqual(expect.arrayContaining(['TrustBundleUnusable', 'TrustBundleGenerated']));
    });
  });

  describe('when a user-supplied root and issuer are close to expiry', () => {
    it('keeps signing but warns by log, metric and Kubernetes Event, and never replaces them', async () => {
      const cp = await controlPlaneNamespace('sentry-expiring');
      namespaces.push(cp.namespace);
      // 60 minutes of life, 50 already gone: inside the last third.
      const past = new Date(Date.now() - 50 * 60_000);
      const root = await generateRoot({ trustDomain, now: past, ttlMs: 3_600_000, skewMs: 0 });
      const issuer = await generateIssuer({ trustDomain, namespace: cp.namespace, now: past, ttlMs: 3_600_000, skewMs: 0, root });
      const data = { 'ca.crt': root.certPem, 'issuer.crt': issuer.certPem, 'issuer.key': issuer.keyPem };
      await core.createNamespacedSecret({
        namespace: cp.namespace,
        body: { metadata: { name: 'dapr-trust-bundle' }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) },
      });
      await core.createNamespacedConfigMap({ namespace: cp.namespace, body: { metadata: { name: 'dapr-trust-bundle' }, data: { 'ca.crt': root.certPem } } });
      const sentry = await sentryIn(cp);

      expect(await sentry.metrics()).toMatch(/^dapr_sentry_trust_bundle_expiry_warning\{certificate="root"\} 1$/m);
      expect(await sentry.metrics()).toMatch(/^dapr_sentry_trust_bundle_expiry_warning\{certificate="issuer"\} 1$/m);
      const remaining = Number(/^dapr_sentry_rootcert_seconds_until_expiry (\S+)$/m.exec(await sentry.metrics())?.[1]);
      expect(remaining).toBeGreaterThan(8 * 60);
      expect(remaining).toBeLessThan(10 * 60 + 5);
      expect(sentry.output()).toContain('sentry does not manage this root and will not replace it');
      const events = await waitFor(async () => {
        const list = await core.listNamespacedEvent({ namespace: cp.namespace, fieldSelector: 'involvedObject.name=dapr-trust-bundle' });
        const reasons = list.items.map((e) => e.reason);
        return reasons.includes('TrustAnchorExpiring') && reasons.includes('IssuerCertificateExpiring') ? list.items : undefined;
      }, { what: 'the expiry Events' });
      expect(events.find((e) => e.reason === 'TrustAnchorExpiring')?.type).toBe('Warning');

      const stored = await core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: cp.namespace });
      expect(Buffer.from(stored.data?.['ca.crt'] as string, 'base64').toString()).toBe(root.certPem);
      expect(stored.data?.['ca.key']).toBeUndefined();
      expect(new X509Certificate(root.certPem).ca).toBe(true);
    });
  });
});
