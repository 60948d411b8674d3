// The injector binary against the real local API server: the API server itself calls the webhook for pods that
// the controller manager creates from Deployments and Jobs, and for hand-made pods. Runs the built binary
// (`npx tsc -b injector` first) with a self-managed CA, as a user without sentry would.
import { AdmissionregistrationV1Api, AppsV1Api, BatchV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  adminKubeConfig,
  createTestNamespace,
  createTestTrustBundle,
  deleteTestNamespace,
  freePort,
  kubectl,
  waitFor,
} from '@tapr/lib/testing';
import { sidecarInjectorWebhookConfiguration } from '../src/webhookConfiguration.js';
import { documentedRbacKubeconfig, injectorMain, removeClusterRbac, startProcess, waitHealthy, type ServiceProcess } from './processes.js';

const sidecarImage = 'ghcr.io/dapr/daprd:1.17.0';

describe('the injector against the real API server, with only its documented RBAC', () => {
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const webhookConfigurationName = `tapr-injector-test-${randomBytes(3).toString('hex')}`;
  let controlPlaneNs: string;
  let appNs: string;
  let injector: ServiceProcess;
  let healthPort: number;
  let metricsPort: number;
  let trustAnchorsPem: string;

  const podsOf = (selector: string, count: number) =>
    waitFor(
      async () => {
        const list = await core.listNamespacedPod({ namespace: appNs, labelSelector: selector });
        return list.items.length >= count ? list.items : undefined;
      },
      { what: `${count} pods with ${selector}`, timeoutMs: 60_000 },
    );

  const deployment = (name: string, annotations: Record<string, string>, replicas = 1) => ({
    metadata: { name, namespace: appNs },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations },
        spec: { containers: [{ name: 'app', image: 'example.invalid/app:1', env: [{ name: 'DAPR_HTTP_PORT', value: '9999' }] }] },
      },
    },
  });

  const handMadePod = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: appNs, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': name } },
    spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
  });

  beforeAll(async () => {
    controlPlaneNs = await createTestNamespace('injector-cp');
    appNs = await createTestNamespace('injector-app');
    const dir = mkdtempSync(path.join(tmpdir(), 'tapr-injector-'));
    trustAnchorsPem = (await createTestTrustBundle()).rootPem;
    const trustAnchorsFile = path.join(dir, 'ca.crt');
    writeFileSync(trustAnchorsFile, trustAnchorsPem);
    const [port, health, metrics] = [await freePort(), await freePort(), await freePort()];
    healthPort = health;
    metricsPort = metrics;

    // Only this test's app namespace is sent to this webhook: other tests share the cluster.
    await admission.createMutatingWebhookConfiguration({
      body: sidecarInjectorWebhookConfiguration({
        name: webhookConfigurationName,
        controlPlaneNamespace: controlPlaneNs,
        url: `https://127.0.0.1:${port}/mutate`,
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': appNs } },
      }),
    });
    for (const name of ['ci-bot', 'intruder']) {
      await core.createNamespacedServiceAccount({ namespace: appNs, body: { metadata: { name } } });
    }
    const binding = await kubectl(['create', 'rolebinding', 'can-edit', '-n', appNs, '--clusterrole=edit', `--serviceaccount=${appNs}:ci-bot`, `--serviceaccount=${appNs}:intruder`]);
    expect(binding.code).toBe(0);

    // The injector runs as the dapr-injector service account with only the RBAC docs/injector.md lists.
    const kubeconfig = await documentedRbacKubeconfig(controlPlaneNs, webhookConfigurationName);
    injector = startProcess(
      injectorMain,
      [
        `-port=${port}`,
        '-listen-address=127.0.0.1',
        `-healthz-port=${health}`,
        '-healthz-listen-address=127.0.0.1',
        `-metrics-port=${metrics}`,
        '-metrics-listen-address=127.0.0.1',
        `-kubeconfig=${kubeconfig}`,
        '--cert-source=self-managed',
        `--webhook-configuration-name=${webhookConfigurationName}`,
        '--sidecar-token-volume=always',
      ],
      {
        NAMESPACE: controlPlaneNs,
        SIDECAR_IMAGE: sidecarImage,
        SIDECAR_IMAGE_PULL_POLICY: 'IfNotPresent',
        DAPR_TRUST_ANCHORS_FILE: trustAnchorsFile,
        KUBE_CLUSTER_DOMAIN: 'cluster.local',
        ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES: `${appNs}:ci-*`,
      },
    );
    await waitHealthy(injector, health, 'the injector');
  });

  afterAll(async () => {
    await injector?.stop();
    await removeClusterRbac(controlPlaneNs);
    await admission.deleteMutatingWebhookConfiguration({ name: webhookConfigurationName }).catch(() => undefined);
    await deleteTestNamespace(appNs);
    await deleteTestNamespace(controlPlaneNs);
  });

  it('keeps the webhook caBundle equal to its self-managed CA (kept in a Secret of the control-plane namespace)', async () => {
    const configuration = await admission.readMutatingWebhookConfiguration({ name: webhookConfigurationName });
    const caBundle = Buffer.from(configuration.webhooks?.[0]?.clientConfig.caBundle ?? '', 'base64').toString();
    const secret = await core.readNamespacedSecret({ namespace: controlPlaneNs, name: 'tapr-sidecar-injector-ca' });
    expect(caBundle).toContain('-----BEGIN CERTIFICATE-----');
    expect(caBundle).toBe(Buffer.from(secret.data!['ca.crt']!, 'base64').toString());
  });

  it('gives every pod of an annotated Deployment the daprd sidecar, as stored by the API server', async () => {
    await apps.createNamespacedDeployment({
      namespace: appNs,
      body: deployment('orders', { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'orders', 'dapr.io/app-port': '8080', 'dapr.io/sidecar-cpu-limit': '500m' }, 2),
    });
    const pods = await podsOf('app=orders', 2);
    for (const pod of pods) {
      expect(pod.metadata?.ownerReferences?.[0]?.kind).toBe('ReplicaSet');
      expect(pod.metadata?.labels).toMatchObject({ 'dapr.io/sidecar-injected': 'true', 'dapr.io/app-id': 'orders', 'dapr.io/metrics-enabled': 'true' });
      const containers = pod.spec?.containers ?? [];
      expect(containers.map((c) => c.name)).toEqual(['app', 'daprd']);
      const daprd = containers[1]!;
      expect(daprd.image).toBe(sidecarImage);
      expect(daprd.ports?.map((p) => [p.name, p.containerPort])).toEqual([
        ['dapr-http', 3500],
        ['dapr-grpc', 50001],
        ['dapr-internal', 50002],
        ['dapr-metrics', 9090],
      ]);
      const args = daprd.args ?? [];
      expect(args[0]).toBe('/daprd');
      expect(args.join(' ')).toContain('--app-id orders --app-protocol http --log-level info');
      expect(args.join(' ')).toContain('--app-port 8080 --enable-metrics --metrics-port 9090');
      expect(args.join(' ')).toContain(`--sentry-address dapr-sentry.${controlPlaneNs}.svc.cluster.local:443`);
      expect(args.join(' ')).toContain(`--control-plane-address dapr-api.${controlPlaneNs}.svc.cluster.local:443`);
      expect(args).toContain('--enable-mtls');
      const env = Object.fromEntries((daprd.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
      expect(env).toEqual({
        NAMESPACE: appNs,
        DAPR_TRUST_ANCHORS: trustAnchorsPem,
        POD_NAME: 'metadata.name',
        DAPR_CONTROLPLANE_NAMESPACE: controlPlaneNs,
        DAPR_CONTROLPLANE_TRUST_DOMAIN: 'cluster.local',
      });
      expect(daprd.readinessProbe?.httpGet).toMatchObject({ path: '/v1.0/healthz', port: 3501 });
      expect(daprd.livenessProbe?.tcpSocket).toMatchObject({ port: 3501 });
      expect(daprd.resources?.limits).toEqual({ cpu: '500m' });
      expect(daprd.volumeMounts).toContainEqual(
        expect.objectContaining({ name: 'dapr-identity-token', mountPath: '/var/run/secrets/dapr.io/sentrytoken', readOnly: true }),
      );
      const tokenVolume = pod.spec?.volumes?.find((v) => v.name === 'dapr-identity-token');
      expect(tokenVolume?.projected?.sources?.[0]?.serviceAccountToken).toEqual({
        audience: `spiffe://cluster.local/ns/${controlPlaneNs}/dapr-sentry`,
        expirationSeconds: 7200,
        path: 'token',
      });
      // The app keeps its own DAPR_HTTP_PORT; the missing ones are added.
      expect(containers[0]!.env).toEqual([
        { name: 'DAPR_HTTP_PORT', value: '9999' },
        { name: 'DAPR_GRPC_PORT', value: '50001' },
        { name: 'APP_PROTOCOL', value: 'http' },
      ]);
    }
  });

  it('leaves pods alone that do not ask for a sidecar, with or without the annotation', async () => {
    await apps.createNamespacedDeployment({ namespace: appNs, body: deployment('plain', {}) });
    await apps.createNamespacedDeployment({ namespace: appNs, body: deployment('opted-out', { 'dapr.io/enabled': 'false', 'dapr.io/app-id': 'opted-out' }) });
    const pods = [...(await podsOf('app=plain', 1)), ...(await podsOf('app=opted-out', 1))];
    for (const pod of pods) {
      expect(pod.spec?.containers?.map((c) => c.name)).toEqual(['app']);
      expect(pod.spec?.containers?.[0]?.env).toEqual([{ name: 'DAPR_HTTP_PORT', value: '9999' }]);
      expect(Object.keys(pod.metadata?.labels ?? {}).filter((k) => k.startsWith('dapr.io/'))).toEqual([]);
    }
  });

  it('denies pods with an invalid annotation, and the ReplicaSet events say which annotation and what is accepted', async () => {
    await apps.createNamespacedDeployment({
      namespace: appNs,
      body: deployment('broken', { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'broken', 'dapr.io/app-port': 'abc', 'dapr.io/app-protocol': 'ftp' }),
    });
    const message = await waitFor(
      async () => {
        const events = await core.listNamespacedEvent({ namespace: appNs, fieldSelector: 'involvedObject.kind=ReplicaSet,reason=FailedCreate' });
        return events.items.map((e) => e.message ?? '').find((m) => m.includes('dapr.io/app-port'));
      },
      { what: 'a FailedCreate event about dapr.io/app-port', timeoutMs: 60_000 },
    );
    expect(message).toContain('denied the request');
    expect(message).toContain('annotation dapr.io/app-port: "abc" is not valid; expected an integer from 0 to 65535');
    expect(message).toContain('annotation dapr.io/app-protocol: "ftp" is not valid; expected one of http, https, grpc, grpcs, h2c');
    const described = await kubectl(['describe', 'rs', '-n', appNs, '-l', 'app=broken']);
    expect(described.stdout).toContain('dapr.io/app-port');
    expect((await core.listNamespacedPod({ namespace: appNs, labelSelector: 'app=broken' })).items).toEqual([]);
  });

  it('requires dapr.io/app-id on controller-made pods, which have no name yet when admitted (as Dapr 1.17)', async () => {
    await apps.createNamespacedDeployment({ namespace: appNs, body: deployment('anonymous', { 'dapr.io/enabled': 'true' }) });
    const message = await waitFor(
      async () => {
        const events = await core.listNamespacedEvent({ namespace: appNs, fieldSelector: 'involvedObject.kind=ReplicaSet,reason=FailedCreate' });
        return events.items.map((e) => e.message ?? '').find((m) => m.includes('anonymous') || m.includes('dapr.io/app-id: ""'));
      },
      { what: 'a FailedCreate event about the missing app id', timeoutMs: 60_000 },
    );
    expect(message).toContain('annotation dapr.io/app-id: "" is not valid; expected an app id: it is required when the pod has no name');
  });

  it('injects pods made by the Job controller', async () => {
    await kc.makeApiClient(BatchV1Api).createNamespacedJob({
      namespace: appNs,
      body: {
        metadata: { name: 'batch', namespace: appNs },
        spec: {
          template: {
            metadata: { labels: { app: 'batch' }, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'batch' } },
            spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'example.invalid/job:1' }] },
          },
        },
      },
    });
    const [pod] = await podsOf('app=batch', 1);
    expect(pod!.spec?.containers?.map((c) => c.name)).toEqual(['job', 'daprd']);
  });

  it('denies a hand-made pod from a service account that is not allowed, and injects those from allowed callers', async () => {
    const intruder = await kubectl(['create', '-f', '-', `--as=system:serviceaccount:${appNs}:intruder`, '--as-group=system:serviceaccounts'], {
      input: JSON.stringify(handMadePod('impostor')),
    });
    expect(intruder.code).not.toBe(0);
    expect(intruder.stderr).toContain(`system:serviceaccount:${appNs}:intruder may not create pods with dapr.io/enabled: "true"`);

    const allowed = await kubectl(['create', '-f', '-', `--as=system:serviceaccount:${appNs}:ci-bot`, '--as-group=system:serviceaccounts'], {
      input: JSON.stringify(handMadePod('from-ci')),
    });
    expect(allowed.code).toBe(0);
    const admin = await kubectl(['create', '-f', '-'], { input: JSON.stringify(handMadePod('from-admin')) });
    expect(admin.code).toBe(0);
    for (const name of ['from-ci', 'from-admin']) {
      const pod: V1Pod = await core.readNamespacedPod({ namespace: appNs, name });
      expect(pod.spec?.containers?.map((c) => c.name)).toEqual(['app', 'daprd']);
    }
  });

  it('counts injections and denials by reason in its metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(/dapr_injector_sidecar_injection_succeeded_total\{app_id="orders"\} 2/);
    expect(text).toMatch(/dapr_injector_sidecar_injection_failed_total\{app_id="broken",reason="invalid_annotation"\} [1-9]/);
    expect(text).toMatch(/dapr_injector_sidecar_injection_failed_total\{app_id="impostor",reason="unauthorised"\} 1/);
    expect(text).toMatch(/dapr_injector_admission_duration_seconds_count\{result="injected"\} [1-9]/);
  });

  it('stops on SIGTERM with exit code 0, having needed no permission it lacks', async () => {
    expect(await injector.stop()).toBe(0);
    // Denied pods are logged at warn on purpose; nothing else may warn (a 403 from the API server would).
    const unexpected = injector
      .output()
      .split('\n')
      .filter((line) => /WARN|ERROR|forbidden/i.test(line) && !line.includes('pod denied'));
    expect(unexpected).toEqual([]);
    expect(injector.output()).toContain('webhook caBundle is up to date');
    expect((await fetch(`http://127.0.0.1:${healthPort}/healthz`).catch(() => undefined))?.status).toBeUndefined();
  });
});
