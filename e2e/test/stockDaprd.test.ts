// Dapr's own sidecar against tapr: the chart's four services run as the local target runs them, annotated
// Deployments get their pods injected by tapr's injector, and the daprd container of each pod is the stock daprd
// (built from github.com/dapr/dapr, see lib/testing/build-binaries.sh) started from the pod's spec by the local
// kubelet. Redis is Debian's redis-server. Each test names one thing a Dapr user relies on.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppsV1Api, type V1Pod } from '@kubernetes/client-node';
import { adminKubeConfig, createTestNamespace, deleteTestNamespace, kubectl, testCluster, waitFor } from '@tapr/lib/testing';
import { LocalControlPlane } from '../src/localControlPlane.js';
import { RedisServer } from '../src/redisServer.js';
import { StockDaprd, stockDaprdBinary } from '../src/stockDaprd.js';
import { TestApp, type TestAppOptions } from '../src/testApp.js';

const describeLocal = (process.env['TAPR_E2E_TARGET'] ?? 'local') === 'local' ? describe : describe.skip;

describeLocal('the stock daprd against tapr (local)', () => {
  let controlPlane: LocalControlPlane;
  let redis: RedisServer;
  let appNamespace: string;
  let workDir: string;
  const sidecars: StockDaprd[] = [];
  const apps: TestApp[] = [];
  const runLabel = `r${Math.random().toString(36).slice(2, 8)}`;
  const apply = async (yaml: string) => {
    const result = await kubectl(['apply', '-f', '-'], { input: yaml });
    if (result.code !== 0) throw new Error(`kubectl apply failed: ${result.stderr}`);
  };

  /** An annotated Deployment of one replica, its injected pod, a test app and the pod's stock daprd. */
  async function deploy(appId: string, annotations: Record<string, string> = {}, app: Partial<TestAppOptions> = {}) {
    const testApp = await TestApp.start({ name: appId, ...app });
    apps.push(testApp);
    await adminKubeConfig().makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: appNamespace,
      body: {
        metadata: { name: appId },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: appId } },
          template: {
            metadata: {
              labels: { app: appId },
              annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': appId, 'dapr.io/app-port': '8080', 'dapr.io/config': 'appconfig', ...annotations },
            },
            spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', ports: [{ containerPort: 8080 }] }] },
          },
        },
      },
    });
    const pod = await controlPlane.kubelet.waitForPod(appNamespace, `app=${appId}`);
    const daprd = await StockDaprd.start({
      kubelet: controlPlane.kubelet,
      pod,
      server: testCluster().server,
      appPort: testApp.port,
      controlPlane: {
        namespace: controlPlane.namespace,
        sentry: controlPlane.address('sentry'),
        operator: controlPlane.address('operator'),
        placement: controlPlane.address('placement'),
      },
    });
    sidecars.push(daprd);
    return { pod, daprd, app: testApp };
  }

  beforeAll(async () => {
    const binary = stockDaprdBinary();
    expect(binary.version).toMatch(/^1\.17\.\d+$/);
    workDir = mkdtempSync(path.join(tmpdir(), 'tapr-e2e-daprd-'));
    redis = await RedisServer.start(path.join(workDir, 'redis'));
    const namespace = await createTestNamespace('tapr-daprd-system');
    appNamespace = await createTestNamespace('tapr-daprd-app', { 'tapr.dev/e2e-daprd': runLabel });
    controlPlane = new LocalControlPlane({
      kubeConfig: adminKubeConfig(),
      kubeconfigFile: testCluster().kubeconfig,
      server: testCluster().server,
      namespace,
      webhookNamespaceLabel: { key: 'tapr.dev/e2e-daprd', value: runLabel },
      secretReaderNamespace: appNamespace,
      workDir: path.join(workDir, 'control-plane'),
    });
    try {
      await controlPlane.start();
    } catch (error) {
      await controlPlane.stop();
      throw error;
    }
    // Name resolution without cluster DNS: Dapr's SQLite resolver, one database file shared by the sidecars here.
    await apply(`
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: {name: appconfig, namespace: ${appNamespace}}
spec:
  nameResolution:
    component: sqlite
    configuration:
      connectionString: ${path.join(workDir, 'nameresolution.db')}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore, namespace: ${appNamespace}}
spec:
  type: state.redis
  version: v1
  metadata:
  - {name: redisHost, value: "${redis.address}"}
  - {name: actorStateStore, value: "true"}
`);
  }, 240_000);

  afterAll(async () => {
    await Promise.all(sidecars.map((d) => d.stop()));
    await Promise.all(apps.map((a) => a.close()));
    const codes = await controlPlane?.stop();
    await redis?.stop();
    if (appNamespace) await deleteTestNamespace(appNamespace);
    if (controlPlane) await deleteTestNamespace(controlPlane.namespace);
    expect(codes).toEqual({ sentry: 0, operator: 0, injector: 0, placement: 0 });
  }, 120_000);

  let first: Awaited<ReturnType<typeof deploy>>;

  it('gets its workload certificate from tapr’s sentry and reports healthy', async () => {
    first = await deploy('stock-a');
    const metadata = await (await first.daprd.fetch('/v1.0/metadata')).json();
    expect(metadata.id).toBe('stock-a');
    expect(first.daprd.output()).toMatch(/dapr/i);
  });
});
