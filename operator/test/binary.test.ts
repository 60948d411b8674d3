// The operator binary as Dapr's integration framework starts it (single-dash flags, an environment of only what it
// sets), getting its SVID from the real sentry binary in Kubernetes mode with a pod-bound token, serving a sidecar
// that also got its certificate from that sentry, and stopping with exit code 0 on SIGINT.
// Needs `npx tsc -b sentry operator`.
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { controlPlaneId, grpcClientChannelOptions, grpcClientCredentials, protos, silentLogger, StaticSvidSource } from '@tapr/lib';
import { SentrySvidSource } from '@tapr/lib/security/sentryClient';
import { adminKubeConfig, createTestNamespace, deleteTestNamespace, freePort, kubectl, testCluster, waitFor } from '@tapr/lib/testing';
import type * as Messages from '../src/api/messages.js';
import { call, json, type OperatorClient } from './harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const operatorMain = path.join(root, 'operator', 'dist', 'src', 'main.js');
const sentryMain = path.join(root, 'sentry', 'dist', 'src', 'main.js');
const trustDomain = 'cluster.local';

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(main: string, args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, [main, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

async function healthy(process: Running, port: number, what: string): Promise<void> {
  await waitFor(
    async () => {
      if (process.child.exitCode !== null) throw new Error(`${what} exited with ${process.child.exitCode}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
    },
    { what: `${what} to be healthy`, timeoutMs: 30_000 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n--- ${what} output ---\n${process.output()}`);
  });
}

describe('the operator binary', () => {
  const core = adminKubeConfig().makeApiClient(CoreV1Api);
  let controlPlane: string;
  let apps: string;
  let dir: string;
  let sentry: Running;
  let operator: Running;
  let sentryPort: number;
  let ports: { api: number; healthz: number; metrics: number };
  let rootPem: string;
  const sentryId = () => `spiffe://${trustDomain}/ns/${controlPlane}/dapr-sentry`;

  async function pod(namespace: string, name: string, serviceAccount: string, annotations: Record<string, string>): Promise<V1Pod> {
    await waitFor(() => core.readNamespacedServiceAccount({ name: serviceAccount, namespace }).then(() => true), { what: `service account ${serviceAccount}` });
    return core.createNamespacedPod({
      namespace,
      body: { metadata: { name, annotations }, spec: { serviceAccountName: serviceAccount, containers: [{ name: 'app', image: 'example.invalid/app:1' }] } },
    });
  }

  async function podToken(namespace: string, target: V1Pod): Promise<string> {
    const response = await core.createNamespacedServiceAccountToken({
      name: target.spec?.serviceAccountName ?? 'default',
      namespace,
      body: { spec: { audiences: [sentryId()], expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: target.metadata?.name, uid: target.metadata?.uid } } },
    });
    return response.status?.token as string;
  }

  beforeAll(async () => {
    for (const main of [operatorMain, sentryMain]) if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -b sentry operator)`);
    [controlPlane, apps] = await Promise.all([createTestNamespace('cp-binary'), createTestNamespace('binary-apps')]);
    dir = mkdtempSync(path.join(tmpdir(), 'operator-binary-'));
    sentryPort = await freePort();
    const configured = await kubectl(['apply', '-f', '-'], {
      input: `
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: { name: daprsystem, namespace: ${controlPlane} }
spec: { mtls: { enabled: true, workloadCertTTL: 1h, allowedClockSkew: 1m, sentryAddress: "127.0.0.1:${sentryPort}", controlPlaneTrustDomain: ${trustDomain} } }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: dapr-operator, namespace: ${controlPlane} }
---
apiVersion: v1
kind: Secret
metadata: { name: redis, namespace: ${apps} }
stringData: { password: from-the-binary }
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: store, namespace: ${apps} }
spec: { type: state.redis, version: v1, metadata: [{ name: redisPassword, secretKeyRef: { name: redis, key: password } }] }
`,
    });
    if (configured.code !== 0) throw new Error(configured.stderr);

    const [sentryHealth, sentryMetrics] = [await freePort(), await freePort()];
    sentry = run(
      sentryMain,
      [`-port=${sentryPort}`, '-listen-address=127.0.0.1', `-healthz-port=${sentryHealth}`, `-metrics-port=${sentryMetrics}`, '-mode=kubernetes', `-kubeconfig=${testCluster().kubeconfig}`, `-trust-domain=${trustDomain}`],
      { NAMESPACE: controlPlane, KUBERNETES_SERVICE_HOST: 'anything' },
    );
    await healthy(sentry, sentryHealth, 'sentry');
    rootPem = (await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: controlPlane })).data?.['ca.crt'] as string;
    writeFileSync(path.join(dir, 'ca.crt'), rootPem);

    // The operator's pod, so sentry's Kubernetes validator can check the token it presents.
    const operatorPod = await pod(controlPlane, 'dapr-operator-0', 'dapr-operator', { 'dapr.io/control-plane': 'operator' });
    writeFileSync(path.join(dir, 'token'), await podToken(controlPlane, operatorPod));

    ports = { api: await freePort(), healthz: await freePort(), metrics: await freePort() };
    operator = run(
      operatorMain,
      [
        '-log-level=debug',
        `-port=${ports.api}`,
        '-listen-address=127.0.0.1',
        `-healthz-port=${ports.healthz}`,
        '-healthz-listen-address=127.0.0.1',
        `-metrics-port=${ports.metrics}`,
        '-metrics-listen-address=127.0.0.1',
        `-trust-anchors-file=${path.join(dir, 'ca.crt')}`,
        '-disable-leader-election=true',
        `-kubeconfig=${testCluster().kubeconfig}`,
        `-webhook-server-port=${await freePort()}`,
        '-webhook-server-listen-address=127.0.0.1',
      ],
      // No PATH or HOME, as in Dapr's framework. Webhooks off: this test must not repoint the shared Subscription CRD.
      { NAMESPACE: controlPlane, KUBERNETES_SERVICE_HOST: 'anything', DAPR_SENTRY_TOKEN_FILE: path.join(dir, 'token'), ENABLE_WEBHOOKS: 'false' },
    );
    await healthy(operator, ports.healthz, 'the operator');
  });

  afterAll(async () => {
    for (const p of [operator, sentry]) {
      if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p?.exited;
    }
    await Promise.all([deleteTestNamespace(controlPlane), deleteTestNamespace(apps)]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a sidecar whose certificate also comes from sentry, as dapr-operator of its namespace', async () => {
    const appPod = await pod(apps, 'orders-0', 'default', { 'dapr.io/app-id': 'orders' });
    const token = await podToken(apps, appPod);
    const source = new SentrySvidSource({
      sentryAddress: `127.0.0.1:${sentryPort}`,
      trustAnchors: () => rootPem,
      trustDomain,
      controlPlaneNamespace: controlPlane,
      id: 'orders',
      namespace: apps,
      token: () => token,
      validator: 'KUBERNETES',
      logger: silentLogger(),
    });
    const svid = new StaticSvidSource(await source.fetch());
    const serverId = controlPlaneId('operator', trustDomain, controlPlane);
    const credentials = grpcClientCredentials({ trustAnchorsPem: () => rootPem, serverId, source: svid });
    const address = `127.0.0.1:${ports.api}`;
    const client: OperatorClient = new protos.operatorGrpc.OperatorClient(address, credentials, grpcClientChannelOptions(address, serverId));
    const request = new protos.operator.ListComponentsRequest();
    request.setNamespace(apps);
    const components = (await call<unknown, Messages.ListComponentResponse>(client, 'listComponents', request)).getComponentsList_asU8().map(json);
    expect(components.map((c) => c['metadata'].name)).toEqual(['store']);
    expect(components[0]?.['spec'].metadata[0].value).toBe(Buffer.from('from-the-binary').toString('base64'));
    request.setNamespace(controlPlane);
    await expect(call(client, 'listComponents', request)).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    client.close();
  });

  it('answers /healthz, /readyz and Prometheus metrics with the dapr_operator_ names on every path', async () => {
    expect((await fetch(`http://127.0.0.1:${ports.healthz}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ports.healthz}/readyz`)).status).toBe(200);
    for (const urlPath of ['/', '/metrics']) {
      const text = await (await fetch(`http://127.0.0.1:${ports.metrics}${urlPath}`)).text();
      expect(text).toMatch(/^dapr_operator_informer_synced\{resource="components.dapr.io"\} 1$/m);
      expect(text).toContain('# TYPE dapr_operator_service_created_total counter');
    }
  });

  it('stops on SIGINT with exit code 0', async () => {
    operator.child.kill('SIGINT');
    expect(await operator.exited).toBe(0);
    expect(operator.output()).toMatch(/operator API stopped/);
  });

  it('exits 2 on an unknown flag and 1 without NAMESPACE', async () => {
    const unknown = run(operatorMain, ['-no-such-flag'], { NAMESPACE: 'x' });
    expect(await unknown.exited).toBe(2);
    const noNamespace = run(operatorMain, [], {});
    expect(await noNamespace.exited).toBe(1);
    expect(noNamespace.output()).toMatch(/NAMESPACE/);
  });
});
