// The end-to-end suite: a control plane laid out by the chart (local processes on the local API server by default,
// or pods on k3d with TAPR_E2E_TARGET=k3d), then what a Dapr user relies on: annotated Deployments get injected pods,
// a workload gets a certificate from sentry, a Component applied with kubectl reaches an operator stream, and actor
// hosts receive a placement table — each done with the credentials a sidecar of an injected pod would have.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { formatSpiffeId, type Svid } from '@tapr/lib';
import { adminKubeConfig, createTestNamespace, deleteTestNamespace, kubectl, testCluster, waitFor } from '@tapr/lib/testing';
import { LocalControlPlane } from '../src/localControlPlane.js';
import { startTarget, type Target } from '../src/target.js';
import { ComponentStream, credentialsFor, listComponents, sentryTokenProjection, workloadSvid } from '../src/workload.js';
import { PlacementHost } from '../src/placementHost.js';

const appId = 'e2e-app';

/** Log lines where the API server's authorizer refused a service account (RBAC), not other 403s (e.g. a namespace being deleted). */
function rbacRefusals(log: string): string[] {
  return log.split('\n').filter((line) => /forbidden: User [\\"]*system:serviceaccount:|cannot \w+ resource [\\"]*\w/.test(line));
}

describe(`a tapr control plane installed from the chart (${process.env['TAPR_E2E_TARGET'] ?? 'local'})`, () => {
  let target: Target;
  let appNamespace: string;
  let pods: V1Pod[];
  let svids: Svid[];
  const cleanups: Array<() => unknown> = [];
  const on = (args: string[], input?: string) => kubectl(args, { kubeconfig: target.kubeconfigFile, input });
  const controlPlane = () => ({ trustDomain: target.trustDomain, namespace: target.namespace });

  beforeAll(async () => {
    target = await startTarget();
    appNamespace = `tapr-e2e-app-${Math.random().toString(36).slice(2, 8)}`;
    await target.kubeConfig.makeApiClient(CoreV1Api).createNamespace({
      body: { metadata: { name: appNamespace, labels: { 'tapr.dev/test': 'true', ...target.appNamespaceLabels } } },
    });
  }, 180_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    if (appNamespace) await target?.kubeConfig.makeApiClient(CoreV1Api).deleteNamespace({ name: appNamespace }).catch(() => undefined);
    const codes = await target?.stop();
    if (target?.name === 'local') {
      await on(['delete', 'namespace', target.namespace, '--wait=false']);
      // Every service stops cleanly on SIGTERM (exit 0), as Dapr's binaries do.
      expect(codes).toEqual({ sentry: 0, operator: 0, injector: 0, placement: 0 });
    }
  }, 120_000);

  it('injects daprd into the pods of an annotated Deployment', async () => {
    await target.kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: appNamespace,
      body: {
        metadata: { name: appId },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: appId } },
          template: {
            metadata: { labels: { app: appId }, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': appId, 'dapr.io/app-port': '8080' } },
            spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
          },
        },
      },
    });
    const core = target.kubeConfig.makeApiClient(CoreV1Api);
    pods = await waitFor(
      async () => {
        const list = (await core.listNamespacedPod({ namespace: appNamespace, labelSelector: `app=${appId}` })).items;
        return list.length === 2 ? list.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!)) : undefined;
      },
      { what: `two pods of ${appId}`, timeoutMs: 60_000 },
    );
    const anchors = await target.trustAnchors();
    const cp = target.namespace;
    for (const pod of pods) {
      const daprd = pod.spec!.containers.find((c) => c.name === 'daprd');
      expect(daprd).toBeDefined();
      expect(daprd!.image).toBe('ghcr.io/dapr/daprd:1.17.13');
      const args = daprd!.args!.join(' ');
      expect(args).toContain(`--app-id ${appId}`);
      expect(args).toContain('--app-port 8080');
      expect(args).toContain(`--control-plane-address dapr-api.${cp}.svc.cluster.local:443`);
      expect(args).toContain(`--sentry-address dapr-sentry.${cp}.svc.cluster.local:443`);
      expect(args).toContain(`--placement-host-address dapr-placement-server.${cp}.svc.cluster.local:50005`);
      expect(args).not.toContain('--scheduler-host-address');
      const env = Object.fromEntries((daprd!.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
      expect(env['DAPR_TRUST_ANCHORS']).toBe(anchors);
      expect(env['DAPR_CONTROLPLANE_NAMESPACE']).toBe(cp);
      expect(env['DAPR_CONTROLPLANE_TRUST_DOMAIN']).toBe(target.trustDomain);
      expect(sentryTokenProjection(pod).audience).toBe(`spiffe://${target.trustDomain}/ns/${cp}/dapr-sentry`);
    }
  });

  it('gives the app its <app-id>-dapr Service (operator)', async () => {
    const service = await waitFor(
      () => target.kubeConfig.makeApiClient(CoreV1Api).readNamespacedService({ name: `${appId}-dapr`, namespace: appNamespace }),
      { what: `Service ${appId}-dapr`, timeoutMs: 30_000 },
    );
    expect(service.spec!.clusterIP).toBe('None');
    expect(service.spec!.selector).toEqual({ app: appId });
    expect(service.spec!.ports!.map((p) => [p.name, p.port])).toEqual(
      expect.arrayContaining([['dapr-http', 80], ['dapr-grpc', 50001], ['dapr-internal', 50002], ['dapr-metrics', 9090]]),
    );
  });

  it('issues each injected pod a certificate for its app id, chained to the published trust anchors', async () => {
    const anchors = await target.trustAnchors();
    svids = [];
    for (const pod of pods) {
      const svid = await workloadSvid({ kubelet: target.kubelet, pod, sentryAddress: target.address('sentry'), trustAnchorsPem: anchors, controlPlane: controlPlane(), id: appId });
      expect(formatSpiffeId(svid.id)).toBe(`spiffe://public/ns/${appNamespace}/${appId}`);
      const chain = svid.certChainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((pem) => new X509Certificate(pem));
      const root = new X509Certificate(anchors);
      expect(chain.length).toBeGreaterThanOrEqual(2);
      expect(chain[0]!.verify(chain[1]!.publicKey)).toBe(true);
      expect(chain.at(-1)!.verify(root.publicKey)).toBe(true);
      expect(svid.notAfter.getTime() - Date.now()).toBeGreaterThan(23 * 3_600_000);
      svids.push(svid);
    }
  });

  it('refuses a certificate for an app id the pod does not have', async () => {
    const anchors = await target.trustAnchors();
    await expect(
      workloadSvid({ kubelet: target.kubelet, pod: pods[0]!, sentryAddress: target.address('sentry'), trustAnchorsPem: anchors, controlPlane: controlPlane(), id: 'someone-else' }),
    ).rejects.toThrow(/PERMISSION_DENIED/);
  });

  it('streams a Component applied with kubectl to a sidecar watching its namespace', async () => {
    const credentials = credentialsFor(svids[0]!, 'operator', controlPlane());
    const stream = new ComponentStream(target.address('operator'), credentials, appNamespace, pods[0]!.metadata!.name!);
    cleanups.push(() => stream.close());
    const component = (revision: number) => `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore, namespace: ${appNamespace}}
spec:
  type: state.redis
  version: v1
  metadata:
  - {name: redisHost, value: redis-leader.${appNamespace}:6379}
  - {name: revision, value: "${revision}"}
`;
    // The stream is open once the server has it; apply (then re-apply with a new revision) until an event arrives.
    let revision = 0;
    const event = await waitFor(
      async () => {
        if (stream.status) throw new Error(`the ComponentUpdate stream ended: ${grpc.status[stream.status.code]} ${stream.status.details}`);
        const seen = stream.events.find((e) => e.component.metadata?.name === 'statestore');
        if (seen) return seen;
        revision += 1;
        const applied = await on(['apply', '-f', '-'], component(revision));
        if (applied.code !== 0) throw new Error(applied.stderr);
        return undefined;
      },
      { what: 'a ComponentUpdate event for statestore', timeoutMs: 30_000, intervalMs: 1000 },
    );
    expect(event.component.metadata?.namespace).toBe(appNamespace);
    expect(event.component.spec?.type).toBe('state.redis');
    // Go's encoding of Dapr's types: every metadata item carries an (empty) secretKeyRef.
    expect(event.component.spec?.metadata).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'redisHost', value: `redis-leader.${appNamespace}:6379` })]),
    );
    expect([1, 2]).toContain(event.type); // CREATED, or UPDATED when a later revision was the first one seen

    const listed = await listComponents(target.address('operator'), credentials, appNamespace, pods[0]!.metadata!.name!);
    expect(listed.map((c) => c.metadata?.name)).toEqual(['statestore']);
  });

  it('refuses a sidecar that asks for another namespace’s components', async () => {
    const credentials = credentialsFor(svids[0]!, 'operator', controlPlane());
    await expect(listComponents(target.address('operator'), credentials, target.namespace, 'x')).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
  });

  it('gives simulated actor hosts one placement table with both of them', async () => {
    const hosts = pods.map(
      (pod, i) =>
        new PlacementHost({
          address: target.address('placement'),
          credentials: credentialsFor(svids[i]!, 'placement', controlPlane()),
          name: `10.244.0.${i + 10}:50002`,
          appId,
          namespace: appNamespace,
          entities: ['E2EActor'],
        }),
    );
    cleanups.push(() => hosts.forEach((h) => h.close()));
    const both = ['10.244.0.10:50002', '10.244.0.11:50002'];
    await waitFor(
      () => {
        for (const host of hosts) if (host.status) throw new Error(`a placement stream ended: ${grpc.status[host.status.code]} ${host.status.details}`);
        return hosts.every((h) => JSON.stringify(h.current?.hosts['E2EActor']) === JSON.stringify(both));
      },
      { what: 'both hosts to hold a table with both of them', timeoutMs: 30_000 },
    );
    expect(hosts[0]!.current!.version).toBe(hosts[1]!.current!.version);
    expect(hosts[0]!.current!.replicationFactor).toBe(100);
    // Every table came in a lock → update → unlock round, acknowledged by both.
    expect(hosts[0]!.operations.join(' ')).toMatch(new RegExp(`lock:${hosts[0]!.current!.version} update:${hosts[0]!.current!.version} unlock:${hosts[0]!.current!.version}`));
  });

  it('had no request of any service refused by the API server (the chart grants what they use)', async () => {
    const logs = await target.logs();
    for (const [service, text] of Object.entries(logs)) {
      expect(text.length).toBeGreaterThan(0);
      const refused = rbacRefusals(text);
      expect({ service, refused }).toEqual({ service, refused: [] });
    }
  });

  it('runs every service with least privilege: nothing outside its job', async () => {
    const can = async (account: string, verb: string, resource: string, namespace?: string) =>
      (await on(['auth', 'can-i', verb, resource, `--as=system:serviceaccount:${target.namespace}:${account}`, ...(namespace ? ['-n', namespace] : [])])).stdout.trim();
    expect(await can('dapr-sentry', 'get', 'secrets/dapr-trust-bundle', target.namespace)).toBe('yes');
    expect(await can('dapr-sentry', 'get', 'secrets/another', target.namespace)).toBe('no');
    expect(await can('dapr-sentry', 'get', 'secrets', appNamespace)).toBe('no');
    expect(await can('dapr-injector', 'get', 'secrets', target.namespace)).toBe('no');
    expect(await can('dapr-injector', 'patch', 'mutatingwebhookconfigurations/dapr-sidecar-injector')).toBe('yes');
    expect(await can('dapr-injector', 'patch', 'mutatingwebhookconfigurations/another')).toBe('no');
    expect(await can('dapr-operator', 'get', 'secrets', appNamespace)).toBe('yes');
    expect(await can('dapr-operator', 'list', 'secrets', appNamespace)).toBe('no');
    expect(await can('dapr-operator', 'delete', 'pods', appNamespace)).toBe('no');
    expect(await can('dapr-placement', 'get', 'pods', target.namespace)).toBe('no');
    expect(await can('dapr-placement', 'create', 'leases', target.namespace)).toBe('no');
  });
});

// HA on the local target: the chart rendered with global.ha.enabled; three placement replicas, two operator replicas
// and two sentry replicas started from their pods (with the chart's Lease RBAC), started at the same moment.
const describeLocal = (process.env['TAPR_E2E_TARGET'] ?? 'local') === 'local' ? describe : describe.skip;
describeLocal('a tapr control plane installed from the chart with HA on (local)', () => {
  let controlPlane: LocalControlPlane;
  let appNamespace: string;
  let appPods: V1Pod[];
  const hosts: PlacementHost[] = [];
  const leases = () => adminKubeConfig().makeApiClient(CoordinationV1Api);
  const holder = async (name: string) => (await leases().readNamespacedLease({ name, namespace: controlPlane.namespace })).spec?.holderIdentity ?? '';
  const controlPlaneId = () => ({ trustDomain: 'cluster.local', namespace: controlPlane.namespace });

  beforeAll(async () => {
    const cluster = testCluster();
    const kubeConfig = adminKubeConfig();
    const namespace = await createTestNamespace('tapr-e2e-ha');
    appNamespace = await createTestNamespace('tapr-e2e-ha-app');
    controlPlane = new LocalControlPlane({
      kubeConfig,
      kubeconfigFile: cluster.kubeconfig,
      server: cluster.server,
      namespace,
      webhookNamespaceLabel: { key: 'tapr.dev/e2e-ha', value: 'none' },
      secretReaderNamespace: namespace,
      workDir: mkdtempSync(path.join(tmpdir(), 'tapr-e2e-ha-')),
      values: { global: { ha: { enabled: true } } },
      replicas: { sentry: 2, operator: 2, injector: 0, placement: 3 },
    });
    try {
      await controlPlane.start();
    } catch (error) {
      await controlPlane.stop();
      throw error;
    }
    // Two pods that stand for sidecars: their tokens give them identities to present to placement.
    const core = kubeConfig.makeApiClient(CoreV1Api);
    for (const name of ['actor-host-a', 'actor-host-b']) {
      await core.createNamespacedPod({
        namespace: appNamespace,
        body: {
          metadata: { name, annotations: { 'dapr.io/app-id': 'ha-app' } },
          spec: {
            containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
            volumes: [
              {
                name: 'dapr-identity-token',
                projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 7200, audience: `spiffe://cluster.local/ns/${namespace}/dapr-sentry` } }] },
              },
            ],
          },
        },
      });
    }
    appPods = await Promise.all(['actor-host-a', 'actor-host-b'].map((name) => core.readNamespacedPod({ name, namespace: appNamespace })));
  }, 180_000);

  afterAll(async () => {
    hosts.forEach((h) => h.close());
    const codes = await controlPlane?.stop();
    await deleteTestNamespace(appNamespace);
    if (controlPlane) await deleteTestNamespace(controlPlane.namespace);
    expect(codes).toEqual({ sentry: 0, operator: 0, placement: 0 });
  }, 120_000);

  const leaderIndex = async () => {
    const leader = await holder('dapr-placement-leader');
    return controlPlane.pods.placement.findIndex((pod) => pod.metadata!.name === leader);
  };

  const svidFor = async (pod: V1Pod) =>
    workloadSvid({
      kubelet: controlPlane.kubelet,
      pod,
      sentryAddress: controlPlane.address('sentry'),
      trustAnchorsPem: await controlPlane.trustAnchors(),
      controlPlane: controlPlaneId(),
      id: 'ha-app',
    });

  it('elects one placement leader among three replicas with the Lease, and one operator leader among two', async () => {
    const index = await waitFor(async () => ((await leaderIndex()) >= 0 ? leaderIndex() : undefined), { what: 'a placement leader', timeoutMs: 30_000 });
    const statuses = await Promise.all(
      [0, 1, 2].map(async (replica) => {
        const text = await (await fetch(controlPlane.metricsUrl('placement', replica))).text();
        return Number(/^dapr_placement_leader_status(?:\{[^}]*\})? (\d)/m.exec(text)?.[1]);
      }),
    );
    expect(statuses.filter((s) => s === 1)).toHaveLength(1);
    expect(statuses[index]).toBe(1);
    const operatorLeader = await waitFor(async () => (await holder('operator.dapr.io')) || undefined, { what: 'an operator leader', timeoutMs: 30_000 });
    const operatorPods = controlPlane.pods.operator.map((pod) => pod.metadata!.name!);
    expect(operatorPods.filter((name) => operatorLeader.startsWith(name))).toHaveLength(1);
  });

  it('has both sentry replicas issue certificates under the one root they published', async () => {
    const anchors = await controlPlane.trustAnchors();
    const root = new X509Certificate(anchors);
    for (const replica of [0, 1]) {
      const svid = await workloadSvid({
        kubelet: controlPlane.kubelet,
        pod: appPods[0]!,
        sentryAddress: controlPlane.address('sentry', replica),
        trustAnchorsPem: anchors,
        controlPlane: controlPlaneId(),
        id: 'ha-app',
      });
      const chain = svid.certChainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((pem) => new X509Certificate(pem));
      expect(chain.at(-1)!.verify(root.publicKey)).toBe(true);
    }
  });

  it('serves placement tables from the leader only, and from a new leader once the old one stops', async () => {
    const svids = await Promise.all(appPods.map(svidFor));
    const connect = (replica: number, i: number) =>
      new PlacementHost({
        address: controlPlane.address('placement', replica),
        credentials: credentialsFor(svids[i]!, 'placement', controlPlaneId()),
        name: `10.244.1.${i + 10}:50002`,
        appId: 'ha-app',
        namespace: appNamespace,
        entities: ['HaActor'],
      });
    const leader = await leaderIndex();
    const follower = [0, 1, 2].find((r) => r !== leader)!;

    const refused = connect(follower, 0);
    hosts.push(refused);
    await waitFor(() => refused.status, { what: 'the follower to refuse the stream', timeoutMs: 10_000 });
    expect(refused.status!.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(refused.status!.details).toMatch(/is not a leader/);

    const both = ['10.244.1.10:50002', '10.244.1.11:50002'];
    const first = [connect(leader, 0), connect(leader, 1)];
    hosts.push(...first);
    await waitFor(() => first.every((h) => JSON.stringify(h.current?.hosts['HaActor']) === JSON.stringify(both)), {
      what: 'both hosts to hold a table from the leader',
      timeoutMs: 30_000,
    });

    // The leader stops (a rolling update or a drained node): it releases the Lease and a follower takes over.
    const oldLeader = controlPlane.pods.placement[leader]!.metadata!.name!;
    expect(await controlPlane.running.placement[leader]!.stop()).toBe(0);
    const next = await waitFor(
      async () => {
        const index = await leaderIndex();
        return index >= 0 && index !== leader ? index : undefined;
      },
      { what: `a new placement leader after ${oldLeader} stopped`, timeoutMs: 30_000 },
    );
    const again = [connect(next, 0), connect(next, 1)];
    hosts.push(...again);
    await waitFor(() => again.every((h) => JSON.stringify(h.current?.hosts['HaActor']) === JSON.stringify(both)), {
      what: 'both hosts to hold a table from the new leader',
      timeoutMs: 30_000,
    });
  });

  it('had no request of any replica refused by the API server', () => {
    for (const service of ['sentry', 'operator', 'placement'] as const) {
      const refused = rbacRefusals(controlPlane.output(service));
      expect({ service, refused }).toEqual({ service, refused: [] });
    }
  });
});
