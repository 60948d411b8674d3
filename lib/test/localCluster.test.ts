// The local control plane is a real Kubernetes: these check the parts later issues stand on.
import { AppsV1Api, AuthenticationV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { adminKubeConfig, createTestNamespace, deleteTestNamespace, kubectl, testCluster, waitFor } from '@tapr/lib/testing';

describe('the local control plane', () => {
  let namespace: string;
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);

  beforeAll(async () => {
    namespace = await createTestNamespace('local-cluster');
  });
  afterAll(async () => {
    await deleteTestNamespace(namespace);
  });

  it('reports the pinned Kubernetes version', async () => {
    const result = await kubectl(['version', '-o', 'json']);
    expect(result.code).toBe(0);
    const version = JSON.parse(result.stdout) as { serverVersion: { gitVersion: string }; clientVersion: { gitVersion: string } };
    expect(version.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    expect(version.clientVersion.gitVersion).toBe(version.serverVersion.gitVersion);
  });

  it('turns a Deployment into a ReplicaSet and Pending Pods (controller manager, no kubelet)', async () => {
    const deployment: V1Deployment = {
      metadata: { name: 'web', namespace },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'example.invalid/web:1' }] } },
      },
    };
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace, body: deployment });
    const pods = await waitFor(
      async () => {
        const list = await core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
        return list.items.length === 2 ? list.items : undefined;
      },
      { what: 'two pods of the web Deployment' },
    );
    for (const pod of pods) {
      expect(pod.status?.phase).toBe('Pending');
      expect(pod.metadata?.ownerReferences?.[0]?.kind).toBe('ReplicaSet');
      expect(pod.spec?.serviceAccountName).toBe('default');
    }
  });

  it('mints a service-account token with TokenRequest and validates it with TokenReview', async () => {
    await waitFor(() => core.readNamespacedServiceAccount({ name: 'default', namespace }).then(() => true), { what: 'the default ServiceAccount' });
    const audience = 'spiffe://cluster.local/ns/dapr-system/dapr-sentry';
    const token = await core.createNamespacedServiceAccountToken({
      name: 'default',
      namespace,
      body: { spec: { audiences: [audience], expirationSeconds: 600 } },
    });
    const authn = kc.makeApiClient(AuthenticationV1Api);
    const review = await authn.createTokenReview({ body: { spec: { token: token.status!.token, audiences: [audience] } } });
    expect(review.status?.authenticated).toBe(true);
    expect(review.status?.user?.username).toBe(`system:serviceaccount:${namespace}:default`);

    const wrongAudience = await authn.createTokenReview({ body: { spec: { token: token.status!.token, audiences: ['someone-else'] } } });
    expect(wrongAudience.status?.authenticated).not.toBe(true);
  });

  it('enforces RBAC: a service account without bindings cannot list pods', async () => {
    const result = await kubectl(['auth', 'can-i', 'list', 'pods', '--as', `system:serviceaccount:${namespace}:default`, '-n', namespace]);
    expect(result.stdout.trim()).toBe('no');
    expect(testCluster().server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });
});
