// The RBAC in docs/operator.md is enough and no more: the operator runs as a service account bound to exactly that
// YAML (taken from the page) and does each of its duties; the account is refused what the operator never needs.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { protos } from '@tapr/lib';
import {
  adminKubeConfig,
  createTestNamespace,
  deleteTestNamespace,
  kubectl,
  rbacFromDocs,
  serviceAccountKubeconfig,
  waitFor,
  type ServiceAccountKubeconfig,
  type TestTrustBundle,
} from '@tapr/lib/testing';
import type * as Messages from '../src/api/messages.js';
import { fromKubeconfigFile } from '@tapr/lib/kube';
import { call, createTestTrustBundle, json, operatorClient, startOperator, type RunningOperator } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function documentedRbac(namespace: string, suffix: string): string {
  // Cluster-scoped names get a suffix so parallel runs do not share them.
  return rbacFromDocs(path.resolve(here, '..', '..', 'docs', 'operator.md'))
    .replaceAll('namespace: dapr-system', `namespace: ${namespace}`)
    .replaceAll('name: dapr-operator-admin', `name: dapr-operator-admin-${suffix}`);
}

describe('the documented RBAC', () => {
  const core = adminKubeConfig().makeApiClient(CoreV1Api);
  let bundle: TestTrustBundle;
  let controlPlane: string;
  let ns: string;
  let running: RunningOperator;
  let subject: string;
  let account: ServiceAccountKubeconfig;

  const canI = async (...args: string[]) => (await kubectl(['auth', 'can-i', ...args, '--as', subject])).stdout.trim();

  beforeAll(async () => {
    bundle = await createTestTrustBundle();
    [controlPlane, ns] = await Promise.all([createTestNamespace('cp-rbac'), createTestNamespace('rbac-apps')]);
    subject = `system:serviceaccount:${controlPlane}:dapr-operator`;
    account = await serviceAccountKubeconfig({ namespace: controlPlane, serviceAccount: 'dapr-operator', rbac: documentedRbac(controlPlane, controlPlane) });
    const access = fromKubeconfigFile(account.file);

    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'redis', '--from-literal=password=s3cr3t']);
    running = await startOperator(bundle, { namespace: controlPlane, serviceReconciler: true, leaderElection: true }, { access });
  });

  afterAll(async () => {
    await running?.stop();
    await account?.remove();
    await Promise.all([deleteTestNamespace(controlPlane), deleteTestNamespace(ns)]);
  });

  it('lets the operator sync, lead, resolve secrets, manage Services and record Events', async () => {
    expect(running.readiness.pending()).toEqual({});
    await waitFor(() => running.operator.elector?.leading, { what: 'leadership under the service account' });

    await kubectl(['apply', '-f', '-'], {
      input: `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: store, namespace: ${ns} }
spec: { type: nonsense, version: v1, metadata: [{ name: redisPassword, secretKeyRef: { name: redis, key: password } }] }
`,
    });
    const client = await operatorClient(bundle, running, { namespace: ns, appId: 'orders' });
    const request = new protos.operator.ListComponentsRequest();
    request.setNamespace(ns);
    const components = await waitFor(async () => {
      const list = (await call<unknown, Messages.ListComponentResponse>(client, 'listComponents', request)).getComponentsList_asU8().map(json);
      return list.length ? list : undefined;
    }, { what: 'the component listed' });
    expect(components[0]?.['spec'].metadata[0].value).toBe(Buffer.from('s3cr3t').toString('base64'));
    client.close();
    await waitFor(async () => {
      const events = await kubectl(['-n', ns, 'get', 'events', '--field-selector', 'involvedObject.name=store', '-o', 'name']);
      return events.stdout.trim().length > 0;
    }, { what: 'the Warning Event, created under the service account' });

    const apps = adminKubeConfig().makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'orders', namespace: ns },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'orders' } },
          template: {
            metadata: { labels: { app: 'orders' }, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': 'orders' } },
            spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
          },
        },
      },
    });
    await waitFor(() => core.readNamespacedService({ name: 'orders-dapr', namespace: ns }).catch(() => undefined), { what: 'orders-dapr' });
    await kubectl(['-n', ns, 'patch', 'deployment', 'orders', '--type=merge', '-p', '{"spec":{"template":{"metadata":{"annotations":{"dapr.io/enabled":"false"}}}}}']);
    await waitFor(async () => (await core.readNamespacedService({ name: 'orders-dapr', namespace: ns }).catch(() => undefined)) === undefined, {
      what: 'orders-dapr deleted',
    });
  });

  it('refuses what the operator never needs', async () => {
    expect(await canI('patch', 'customresourcedefinitions/subscriptions.dapr.io')).toBe('yes');
    expect(await canI('get', 'secrets', '-n', ns)).toBe('yes');
    for (const denied of [
      ['list', 'secrets', '-n', ns],
      ['watch', 'secrets', '--all-namespaces'],
      ['list', 'pods', '--all-namespaces'],
      ['update', 'deployments', '-n', ns],
      ['delete', 'deployments', '-n', ns],
      ['patch', 'customresourcedefinitions/components.dapr.io'],
      ['create', 'components.dapr.io', '-n', ns],
      ['update', 'leases/some-other-lease', '-n', controlPlane],
      ['create', 'clusterrolebindings'],
      ['*', '*'],
    ]) {
      expect([denied.join(' '), await canI(...denied)]).toEqual([denied.join(' '), 'no']);
    }
  });
});
