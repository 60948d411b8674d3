// The Helm chart, tested as Dapr tests its chart: render it with the pinned Helm, parse the objects, assert on
// them; then hand the rendered objects to the real local API server (server-side dry run) and feed the rendered
// args and env to each service's own option parser.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestNamespace, deleteTestNamespace, kubectl } from '@tapr/lib/testing';
import { readOptions as readSentryOptions } from '@tapr/sentry/options';
import { readOptions as readOperatorOptions } from '@tapr/operator/options';
import { readOptions as readInjectorOptions } from '@tapr/injector/options';
import { readOptions as readPlacementOptions } from '@tapr/placement/options';
import { readOptions as readSchedulerOptions } from '@tapr/scheduler/options';
import { sidecarInjectorWebhookConfiguration } from '@tapr/injector/webhookConfiguration';
import { chartDir, helm, parseManifests, renderChart, renderChartYaml, repoRoot, type KubeObject } from '../src/helm.js';
import { envValue, find, flagValue, ofKind, onlyContainer, type Container, type Workload } from '../src/objects.js';
import { expandArgs, resolveEnv } from '../src/podEnv.js';

const ns = 'tapr-chart';
const smallResources = { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } };
const workloads = [
  { kind: 'Deployment', name: 'dapr-sentry', service: 'sentry', account: 'dapr-sentry', replicas: 1, resources: smallResources },
  { kind: 'Deployment', name: 'dapr-operator', service: 'operator', account: 'dapr-operator', replicas: 1, resources: smallResources },
  { kind: 'Deployment', name: 'dapr-sidecar-injector', service: 'injector', account: 'dapr-injector', replicas: 1, resources: smallResources },
  { kind: 'StatefulSet', name: 'dapr-placement-server', service: 'placement', account: 'dapr-placement', replicas: 1, resources: smallResources },
  // Three replicas whatever the HA setting, as in Dapr: they are the members of one etcd cluster.
  {
    kind: 'StatefulSet',
    name: 'dapr-scheduler-server',
    service: 'scheduler',
    account: 'dapr-scheduler',
    replicas: 3,
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
  },
] as const;
/** Every object the scheduler adds, as kind/name. */
const schedulerObjects = [
  'StatefulSet/dapr-scheduler-server',
  'Service/dapr-scheduler-server',
  'Service/dapr-scheduler-server-a',
  'PodDisruptionBudget/dapr-scheduler-server-disruption-budget',
  'ServiceAccount/dapr-scheduler',
  'ClusterRole/dapr-scheduler',
  'ClusterRoleBinding/dapr-scheduler',
];
const schedulerPeers = [0, 1, 2].map((i) => `dapr-scheduler-server-${i}=https://dapr-scheduler-server-${i}.dapr-scheduler-server.${ns}.svc.cluster.local:2380`);

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const rulesOf = (objects: KubeObject[], kind: 'ClusterRole' | 'Role', name: string) => (find(objects, kind, name) as KubeObject & { rules: Rule[] }).rules;
const servicePorts = (objects: KubeObject[], name: string) =>
  (find(objects, 'Service', name) as KubeObject & { spec: { ports: Array<{ name: string; port: number; targetPort: string }> } }).spec.ports;
const kindNames = (objects: KubeObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);
const workload = (objects: KubeObject[], kind: string, name: string) => find<Workload>(objects, kind, name);

/** The RBAC YAML a service documents between <!-- rbac:begin --> and <!-- rbac:end --> in docs/<service>.md. */
function rbacBlock(service: string): string {
  const doc = readFileSync(path.join(repoRoot, 'docs', `${service}.md`), 'utf8');
  const block = /<!-- rbac:begin -->\s*```yaml\n([\s\S]*?)```\s*<!-- rbac:end -->/.exec(doc);
  if (!block) throw new Error(`docs/${service}.md has no RBAC block between <!-- rbac:begin --> and <!-- rbac:end -->`);
  return block[1]!;
}

/** Every (group, resource, verb, name) a Role or ClusterRole allows, as "Kind name: group|resource|verb|name". */
function permissions(role: KubeObject): string[] {
  const rules = (role as KubeObject & { rules?: Rule[] }).rules ?? [];
  return rules.flatMap((rule) =>
    rule.apiGroups.flatMap((group) =>
      rule.resources.flatMap((resource) =>
        rule.verbs.flatMap((verb) => (rule.resourceNames ?? ['*']).map((name) => `${role.kind} ${role.metadata.name}: ${group}|${resource}|${verb}|${name}`)),
      ),
    ),
  );
}
const podEnv = (container: Container, pod: string) => resolveEnv(container, { name: pod, namespace: ns });

describe('the tapr Helm chart', () => {
  let defaults: KubeObject[];
  let ha: KubeObject[];

  beforeAll(async () => {
    defaults = await renderChart({ namespace: ns });
    ha = await renderChart({ namespace: ns, values: { global: { ha: { enabled: true } } } });
  });

  describe('when linted', () => {
    it.each([
      ['default values', []],
      ['HA', ['--set', 'global.ha.enabled=true']],
      ['metrics off and JSON logs', ['--set', 'global.prometheus.enabled=false', '--set', 'global.logAsJson=true']],
      ['the scheduler off', ['--set', 'global.scheduler.enabled=false']],
      ['the scheduler in memory', ['--set', 'dapr_scheduler.cluster.inMemoryStorage=true']],
    ])('reports nothing with %s (strict)', async (_what, extra) => {
      const result = await helm(['lint', chartDir, '--strict', '--namespace', ns, ...extra]);
      expect(result.stderr.trim()).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(result.stdout).not.toMatch(/\[(INFO|WARNING|ERROR)\]/);
    });
  });

  describe('when packaged', () => {
    it('carries the CRDs of the repository crds/ folder byte for byte', async () => {
      const out = mkdtempSync(path.join(tmpdir(), 'tapr-chart-package-'));
      const result = await helm(['package', chartDir, '--destination', out]);
      expect(result.code).toBe(0);
      const archive = path.join(out, 'tapr-0.1.0.tgz');
      const listing = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).split('\n');
      const repoCrds = readdirSync(path.join(repoRoot, 'crds')).filter((f) => f.endsWith('.yaml')).sort();
      expect(repoCrds.length).toBeGreaterThanOrEqual(5);
      expect(listing.filter((f) => f.startsWith('tapr/crds/')).map((f) => path.basename(f)).sort()).toEqual(repoCrds);
      for (const file of repoCrds) {
        const packaged = execFileSync('tar', ['-xzOf', archive, `tapr/crds/${file}`], { encoding: 'utf8' });
        expect(packaged).toBe(readFileSync(path.join(repoRoot, 'crds', file), 'utf8'));
      }
    });
  });

  describe('when rendered with default values', () => {
    it('creates the objects sidecars depend on under Dapr’s names', () => {
      const names = (kind: string) => ofKind(defaults, kind).map((o) => o.metadata.name).sort();
      expect(names('Service')).toEqual([
        'dapr-api',
        'dapr-placement-server',
        'dapr-scheduler-server',
        'dapr-scheduler-server-a',
        'dapr-sentry',
        'dapr-sidecar-injector',
        'dapr-webhook',
      ]);
      expect(names('Deployment')).toEqual(['dapr-operator', 'dapr-sentry', 'dapr-sidecar-injector']);
      expect(names('StatefulSet')).toEqual(['dapr-placement-server', 'dapr-scheduler-server']);
      expect(names('Secret')).toEqual(['dapr-trust-bundle']);
      expect(names('ConfigMap')).toEqual(['dapr-trust-bundle', 'tapr-crd-upgrade']);
      expect(names('MutatingWebhookConfiguration')).toEqual(['dapr-sidecar-injector']);
      expect(names('Configuration')).toEqual(['daprsystem']);
      expect(names('ServiceAccount')).toEqual(['dapr-injector', 'dapr-operator', 'dapr-placement', 'dapr-scheduler', 'dapr-sentry', 'tapr-crd-upgrade']);
      // The scheduler's budget is there without HA, as in Dapr.
      expect(names('PodDisruptionBudget')).toEqual(['dapr-scheduler-server-disruption-budget']);
      for (const object of defaults) {
        const clusterScoped = ['ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration'].includes(object.kind);
        const elsewhere = object.metadata.name === 'secret-reader' || object.metadata.name === 'dapr-secret-reader';
        if (!clusterScoped && !elsewhere) expect([object.kind, object.metadata.namespace]).toEqual([object.kind, ns]);
      }
    });

    it('exposes Dapr’s ports on each Service', () => {
      const ports = (name: string) => servicePorts(defaults, name).map((p) => [p.name, p.port, p.targetPort]);
      expect(ports('dapr-sentry')).toEqual([['grpc', 443, 'grpc'], ['metrics', 9090, 'metrics']]);
      expect(ports('dapr-api')).toEqual([['grpc', 443, 'grpc'], ['legacy', 80, 'grpc'], ['metrics', 9090, 'metrics']]);
      expect(ports('dapr-webhook')).toEqual([['webhook', 443, 'webhook']]);
      expect(ports('dapr-sidecar-injector')).toEqual([['https', 443, 'https'], ['metrics', 9090, 'metrics']]);
      expect(ports('dapr-placement-server')).toEqual([['api', 50005, 'api'], ['metrics', 9090, 'metrics']]);
      const placement = find(defaults, 'Service', 'dapr-placement-server') as KubeObject & { spec: Record<string, unknown> };
      expect(placement.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
      // The scheduler: sidecars dial dapr-scheduler-server-a:443 (the injector's default address); peers find each
      // other through the headless Service, before any of them is ready.
      const etcdPorts = [['etcd-client', 2379, 'etcd-client'], ['etcd-peer', 2380, 'etcd-peer']];
      expect(ports('dapr-scheduler-server')).toEqual([['api', 50006, 'api'], ...etcdPorts, ['metrics', 9090, 'metrics']]);
      expect(ports('dapr-scheduler-server-a')).toEqual([['api', 443, 'api'], ...etcdPorts, ['metrics', 9090, 'metrics']]);
      const schedulerService = (name: string) => (find(defaults, 'Service', name) as KubeObject & { spec: Record<string, unknown> }).spec;
      expect(schedulerService('dapr-scheduler-server')).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: { app: 'dapr-scheduler-server' } });
      expect(schedulerService('dapr-scheduler-server-a')).toMatchObject({ type: 'ClusterIP', publishNotReadyAddresses: true, selector: { app: 'dapr-scheduler-server' } });
      expect(schedulerService('dapr-scheduler-server-a')['clusterIP']).toBeUndefined();
      for (const name of ['dapr-scheduler-server', 'dapr-scheduler-server-a']) {
        expect(find(defaults, 'Service', name).metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090', 'prometheus.io/path': '/' });
      }
      // Named target ports resolve to the containers' ports Dapr uses.
      const containerPort = (kind: string, name: string, port: string) =>
        onlyContainer(workload(defaults, kind, name)).ports?.find((p) => p.name === port)?.containerPort;
      expect(containerPort('Deployment', 'dapr-sentry', 'grpc')).toBe(50001);
      expect(containerPort('Deployment', 'dapr-operator', 'grpc')).toBe(6500);
      expect(containerPort('Deployment', 'dapr-operator', 'webhook')).toBe(19443);
      expect(containerPort('Deployment', 'dapr-sidecar-injector', 'https')).toBe(4000);
      expect(containerPort('StatefulSet', 'dapr-placement-server', 'api')).toBe(50005);
      expect(containerPort('StatefulSet', 'dapr-scheduler-server', 'api')).toBe(50006);
      expect(containerPort('StatefulSet', 'dapr-scheduler-server', 'etcd-client')).toBe(2379);
      expect(containerPort('StatefulSet', 'dapr-scheduler-server', 'etcd-peer')).toBe(2380);
      expect(containerPort('StatefulSet', 'dapr-scheduler-server', 'metrics')).toBe(9090);
    });

    it('registers the webhook exactly as the injector recommends', () => {
      const rendered = find(defaults, 'MutatingWebhookConfiguration', 'dapr-sidecar-injector') as KubeObject & { webhooks: unknown[] };
      const recommended = sidecarInjectorWebhookConfiguration({ controlPlaneNamespace: ns });
      expect(rendered.webhooks).toEqual(recommended.webhooks);
      expect(rendered.webhooks[0]).toMatchObject({
        name: 'sidecar-injector.dapr.io',
        clientConfig: { service: { name: 'dapr-sidecar-injector', namespace: ns, path: '/mutate', port: 443 } },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] }],
        failurePolicy: 'Fail',
        sideEffects: 'None',
        reinvocationPolicy: 'IfNeeded',
      });
    });

    it('creates the trust bundle Secret and ConfigMap empty, for sentry to fill', () => {
      expect(find(defaults, 'Secret', 'dapr-trust-bundle')['data']).toBeUndefined();
      expect(find(defaults, 'ConfigMap', 'dapr-trust-bundle')['data']).toBeUndefined();
    });

    it('writes the daprsystem Configuration with Dapr’s mTLS defaults', () => {
      expect(find(defaults, 'Configuration', 'daprsystem')['spec']).toEqual({
        mtls: {
          enabled: true,
          workloadCertTTL: '24h',
          allowedClockSkew: '15m',
          controlPlaneTrustDomain: 'cluster.local',
          sentryAddress: `dapr-sentry.${ns}.svc.cluster.local:443`,
        },
      });
    });

    it.each(workloads)('starts $name with its Dapr command, service account and control-plane annotation', ({ kind, name, service, account, replicas }) => {
      const object = workload(defaults, kind, name);
      expect(object.spec.replicas).toBe(replicas);
      expect(object.spec.selector.matchLabels).toEqual({ app: name });
      expect(object.spec.template.metadata.labels).toMatchObject({ app: name });
      expect(object.spec.template.metadata.annotations).toMatchObject({
        'dapr.io/control-plane': service,
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9090',
      });
      expect(object.spec.template.spec.serviceAccountName).toBe(account);
      const container = onlyContainer(object);
      expect(container.command).toEqual([`/${service}`]);
      expect(container.image).toBe(`ghcr.io/tapr/${service}:0.1.0`);
      expect(flagValue(container.args!, '--log-level')).toBe('info');
      expect(container.args).toContain('--enable-metrics');
      expect(flagValue(container.args!, '--metrics-port')).toBe('9090');
      expect(flagValue(container.args!, '--healthz-port')).toBe('8080');
      expect(container.ports?.find((p) => p.name === 'healthz')?.containerPort).toBe(8080);
    });

    it.each(workloads)('probes $name on /healthz (liveness) and /readyz (readiness) of its health port', ({ kind, name }) => {
      const container = onlyContainer(workload(defaults, kind, name));
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'healthz' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'healthz' });
    });

    it.each(workloads)('runs $name as a numeric non-root user on a read-only root filesystem', ({ kind, name, service, resources }) => {
      const object = workload(defaults, kind, name);
      expect(object.spec.template.spec.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        seccompProfile: { type: 'RuntimeDefault' },
        // The scheduler's data volume is writable by this group (Dapr's fsGroup).
        ...(service === 'scheduler' ? { fsGroup: 65532 } : {}),
      });
      expect(onlyContainer(object).securityContext).toEqual({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(onlyContainer(object).resources).toEqual(resources);
    });

    it('gives every service but sentry the trust anchors and a token for sentry', () => {
      for (const { kind, name, service } of workloads.filter((w) => w.service !== 'sentry')) {
        const object = workload(defaults, kind, name);
        const mounts = onlyContainer(object).volumeMounts!.map((m) => [m.name, m.mountPath]);
        // The scheduler also has its data volume (a claim, below) and a writable /tmp for its identity files.
        const schedulerMounts = [
          ['dapr-scheduler-data-dir', '/var/run/data/dapr-scheduler/'],
          ['dapr-scheduler-writeable-identity', '/tmp'],
        ];
        expect(mounts).toEqual([
          ...(service === 'scheduler' ? schedulerMounts : []),
          ['dapr-trust-bundle', '/var/run/secrets/dapr.io/tls'],
          ['dapr-identity-token', '/var/run/secrets/dapr.io/sentrytoken'],
        ]);
        expect(object.spec.template.spec.volumes).toEqual([
          ...(service === 'scheduler' ? [{ name: 'dapr-scheduler-writeable-identity', emptyDir: {} }] : []),
          { name: 'dapr-trust-bundle', configMap: { name: 'dapr-trust-bundle' } },
          {
            name: 'dapr-identity-token',
            projected: {
              sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 600, audience: `spiffe://cluster.local/ns/${ns}/dapr-sentry` } }],
            },
          },
        ]);
      }
      const sentry = workload(defaults, 'Deployment', 'dapr-sentry');
      expect(sentry.spec.template.spec.volumes).toEqual([{ name: 'credentials', secret: { secretName: 'dapr-trust-bundle' } }]);
      expect(onlyContainer(sentry).volumeMounts).toEqual([{ name: 'credentials', mountPath: '/var/run/secrets/dapr.io/credentials', readOnly: true }]);
    });

    it('runs the scheduler as Dapr’s chart does: three etcd members in parallel, Dapr’s arguments in Dapr’s order', () => {
      const object = workload(defaults, 'StatefulSet', 'dapr-scheduler-server');
      expect(object.spec).toMatchObject({ replicas: 3, serviceName: 'dapr-scheduler-server', podManagementPolicy: 'Parallel' });
      expect(object.spec['volumeClaimTemplates']).toEqual([
        {
          // Without the chart's labels, which carry its version: claim templates cannot change on upgrade.
          metadata: { name: 'dapr-scheduler-data-dir' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ]);
      const container = onlyContainer(object);
      expect(container.name).toBe('dapr-scheduler-server');
      // Dapr's list (charts/dapr/charts/dapr_scheduler, docs/scheduler-spec.md §10), plus the --healthz-port tapr's
      // chart gives every service.
      expect(container.args).toEqual([
        '--listen-address=0.0.0.0',
        '--id',
        '$(SCHEDULER_ID)',
        '--etcd-initial-cluster',
        schedulerPeers.join(','),
        '--etcd-embed=true',
        '--healthz-port',
        '8080',
        '--log-level',
        'info',
        '--enable-metrics',
        '--metrics-port',
        '9090',
        '--etcd-client-port',
        '2379',
        `--etcd-data-dir=/var/run/data/dapr-scheduler/${ns}/$(SCHEDULER_ID)`,
        '--etcd-space-quota=9.2E',
        '--etcd-compaction-mode=periodic',
        '--etcd-compaction-retention=10m',
        '--etcd-snapshot-count=10000',
        '--etcd-max-snapshots=10',
        '--etcd-max-wals=10',
        '--etcd-backend-batch-limit=5000',
        '--etcd-backend-batch-interval=50ms',
        '--etcd-experimental-bootstrap-defrag-threshold-megabytes=100',
        '--etcd-initial-election-tick-advance=false',
        '--etcd-metrics=basic',
        '--tls-enabled',
        '--trust-domain=cluster.local',
        '--trust-anchors-file=/var/run/secrets/dapr.io/tls/ca.crt',
        `--sentry-address=dapr-sentry.${ns}.svc.cluster.local:443`,
        '--mode=kubernetes',
        '--workers=2048',
      ]);
      expect(container.env).toEqual([
        { name: 'SCHEDULER_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      ]);
      expect(container.livenessProbe).toMatchObject({ initialDelaySeconds: 10, periodSeconds: 3, failureThreshold: 5 });
      expect(container.readinessProbe).toMatchObject({ initialDelaySeconds: 3, periodSeconds: 3, failureThreshold: 5 });
      // Spread over nodes without HA too (three replicas always), and a budget that keeps two of three members up.
      expect(object.spec.template.spec.affinity).toEqual({
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'dapr-scheduler-server' } }, topologyKey: 'kubernetes.io/hostname' } },
          ],
        },
      });
      expect(find(defaults, 'PodDisruptionBudget', 'dapr-scheduler-server-disruption-budget')['spec']).toEqual({
        maxUnavailable: '25%',
        selector: { matchLabels: { app: 'dapr-scheduler-server' } },
      });
    });

    it('tells the injector that the scheduler is there', () => {
      const injector = onlyContainer(workload(defaults, 'Deployment', 'dapr-sidecar-injector'));
      expect(injector.args).toContain('--scheduler-enabled=true');
    });

    it('passes arguments and environment that each service’s own option parser accepts as meant', () => {
      const container = (kind: string, name: string) => onlyContainer(workload(defaults, kind, name));
      const inputs = (kind: string, name: string, pod: string) => {
        const c = container(kind, name);
        const env = podEnv(c, pod);
        return { argv: expandArgs(c.args!, env), env };
      };

      const sentry = readSentryOptions({ ...inputs('Deployment', 'dapr-sentry', 'dapr-sentry-0'), cpus: 2 });
      expect(sentry).toMatchObject({ mode: 'kubernetes', trustDomain: 'cluster.local', namespace: ns, port: 50001, healthzPort: 8080, metricsPort: 9090 });
      expect(sentry.issuerFiles).toEqual({
        trustAnchors: '/var/run/secrets/dapr.io/credentials/ca.crt',
        issuerChain: '/var/run/secrets/dapr.io/credentials/issuer.crt',
        issuerKey: '/var/run/secrets/dapr.io/credentials/issuer.key',
      });

      const exists = (file: string) => file === '/var/run/secrets/dapr.io/sentrytoken/token';
      const operator = readOperatorOptions({ ...inputs('Deployment', 'dapr-operator', 'dapr-operator-0'), fileExists: exists });
      expect(operator).toMatchObject({
        namespace: ns,
        apiPort: 6500,
        webhookPort: 19443,
        trustAnchorsFile: '/var/run/secrets/dapr.io/tls/ca.crt',
        sentryTokenFile: '/var/run/secrets/dapr.io/sentrytoken/token',
        metricsEnabled: true,
        leaderElection: true,
        serviceReconciler: true,
        watchdog: { enabled: false },
        podName: 'dapr-operator-0',
      });

      const injector = readInjectorOptions({ ...inputs('Deployment', 'dapr-sidecar-injector', 'dapr-sidecar-injector-0'), fileExists: exists, readFile: () => undefined });
      expect(injector).toMatchObject({
        port: 4000,
        namespace: ns,
        certSource: 'sentry',
        sentryAddress: `dapr-sentry.${ns}.svc.cluster.local:443`,
        trustAnchorsFile: '/var/run/secrets/dapr.io/tls/ca.crt',
        controlPlaneTrustDomain: 'cluster.local',
        sentryTokenFile: '/var/run/secrets/dapr.io/sentrytoken/token',
      });
      expect(injector.sidecar).toMatchObject({
        image: 'ghcr.io/dapr/daprd:1.17.13',
        imagePullPolicy: 'IfNotPresent',
        kubeClusterDomain: 'cluster.local',
        placementAddress: `dapr-placement-server.${ns}.svc.cluster.local:50005`,
        schedulerEnabled: true,
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        tokenVolume: true,
      });

      const placement = readPlacementOptions({ ...inputs('StatefulSet', 'dapr-placement-server', 'dapr-placement-server-0'), fileExists: exists });
      expect(placement).toMatchObject({
        election: 'single',
        port: 50005,
        tlsEnabled: true,
        mode: 'kubernetes',
        trustDomain: 'cluster.local',
        sentryAddress: `dapr-sentry.${ns}.svc.cluster.local:443`,
        replicationFactor: 100,
        keepaliveTimeMs: 2000,
        keepaliveTimeoutMs: 3000,
        disseminateTimeoutMs: 8000,
        sentryTokenFile: '/var/run/secrets/dapr.io/sentrytoken/token',
      });

      // The image carries etcd at /usr/local/bin/etcd (scheduler/Dockerfile); $(SCHEDULER_ID) is expanded as the
      // kubelet does, from the pod's name.
      const inImage = (file: string) => exists(file) || file === '/usr/local/bin/etcd';
      const schedulerPod = 'dapr-scheduler-server-1';
      const scheduler = readSchedulerOptions({ ...inputs('StatefulSet', 'dapr-scheduler-server', schedulerPod), fileExists: inImage });
      expect(scheduler).toMatchObject({
        id: schedulerPod,
        port: 50006,
        listenAddress: '0.0.0.0',
        healthzPort: 8080,
        metricsPort: 9090,
        enableMetrics: true,
        logLevel: 'info',
        tlsEnabled: true,
        mode: 'kubernetes',
        trustDomain: 'cluster.local',
        trustAnchorsFile: '/var/run/secrets/dapr.io/tls/ca.crt',
        sentryAddress: `dapr-sentry.${ns}.svc.cluster.local:443`,
        sentryTokenFile: '/var/run/secrets/dapr.io/sentrytoken/token',
        namespace: ns,
        workers: 2048,
      });
      expect(scheduler.etcd).toMatchObject({
        embed: true,
        binary: '/usr/local/bin/etcd',
        initialCluster: schedulerPeers,
        dataDir: `/var/run/data/dapr-scheduler/${ns}/${schedulerPod}`,
        clientPort: 2379,
        compactionMode: 'periodic',
        compactionRetention: '10m',
        snapshotCount: 10000,
        maxSnapshots: 10,
        maxWals: 10,
        backendBatchLimit: 5000,
        backendBatchIntervalMs: 50,
        bootstrapDefragThresholdMb: 100,
        initialElectionTickAdvance: false,
        metrics: 'basic',
        clientEndpoints: [],
      });
      expect(scheduler.etcd.spaceQuotaBytes).toBeGreaterThan(9.1e18);
      // Its data lands on the data volume.
      const dataMount = onlyContainer(workload(defaults, 'StatefulSet', 'dapr-scheduler-server')).volumeMounts!.find((m) => m.name === 'dapr-scheduler-data-dir')!;
      expect(scheduler.etcd.dataDir.startsWith(dataMount.mountPath)).toBe(true);
    });

    it.each([
      // [service doc, tuples the chart leaves out on purpose (each named in the chart's RBAC comments)]
      ['sentry', ['Role dapr-sentry: |secrets|create|*', 'Role dapr-sentry: |configmaps|create|*']],
      ['operator', []],
      ['injector', ['Role dapr-injector: |secrets|get|tapr-sidecar-injector-ca', 'Role dapr-injector: |secrets|create|*']],
    ])('grants %s exactly the RBAC its docs list (and its own tests run with)', (service, leftOut) => {
      const documented = parseManifests(rbacBlock(service as string));
      const roles = documented.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
      expect(roles.length).toBeGreaterThan(0);
      const expected = new Set(roles.flatMap((role) => permissions(role)));
      for (const tuple of leftOut as string[]) expect(expected.delete(tuple)).toBe(true);
      const granted = new Set(roles.flatMap((role) => permissions(find(defaults, role.kind, role.metadata.name))));
      expect([...granted].sort()).toEqual([...expected].sort());
      // Bound to the service's own account in the release namespace.
      for (const role of roles) {
        const binding = find(defaults, `${role.kind}Binding`, role.metadata.name) as KubeObject & { subjects: unknown[] };
        expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: `dapr-${service}`, namespace: ns }]);
      }
    });

    it('grants the scheduler only get/list/watch on Namespaces (its namespace controller), bound to its own account', () => {
      expect(rulesOf(defaults, 'ClusterRole', 'dapr-scheduler')).toEqual([{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] }]);
      const binding = find(defaults, 'ClusterRoleBinding', 'dapr-scheduler') as KubeObject & { roleRef: unknown; subjects: unknown[] };
      expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'dapr-scheduler' });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'dapr-scheduler', namespace: ns }]);
      expect(ofKind(defaults, 'RoleBinding').filter((b) => JSON.stringify(b['subjects']).includes('dapr-scheduler'))).toEqual([]);
    });

    it('grants placement nothing, and no roles beyond the services’ own', () => {
      expect(ofKind(defaults, 'Role').map((r) => r.metadata.name).sort()).toEqual(['dapr-injector', 'dapr-operator', 'dapr-sentry', 'secret-reader']);
      expect(ofKind(defaults, 'ClusterRole').map((r) => r.metadata.name).sort()).toEqual([
        'dapr-injector',
        'dapr-operator-admin',
        'dapr-scheduler',
        'dapr-sentry',
        'tapr-crd-upgrade',
      ]);
      expect(rulesOf(defaults, 'Role', 'secret-reader')).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
      expect(find(defaults, 'Role', 'secret-reader').metadata.namespace).toBe('default');
    });

    it('binds no service account to a built-in role and grants no wildcard', () => {
      const all = [...defaults, ...ha];
      for (const binding of [...ofKind(all, 'ClusterRoleBinding'), ...ofKind(all, 'RoleBinding')]) {
        const ref = binding['roleRef'] as { kind: string; name: string };
        expect(['cluster-admin', 'admin', 'edit', 'view']).not.toContain(ref.name);
        expect(all.some((o) => o.kind === ref.kind && o.metadata.name === ref.name)).toBe(true);
      }
      for (const role of [...ofKind(all, 'ClusterRole'), ...ofKind(all, 'Role')]) {
        for (const rule of (role as KubeObject & { rules: Rule[] }).rules) {
          expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
          expect(rule.verbs).not.toEqual(expect.arrayContaining(['escalate']));
          expect(rule.verbs).not.toEqual(expect.arrayContaining(['bind']));
          expect(rule.verbs).not.toEqual(expect.arrayContaining(['impersonate']));
        }
      }
    });

    it('turns the CRD upgrade Job into a pre-upgrade hook limited to the chart’s own CRDs', () => {
      const job = find(defaults, 'Job', 'tapr-crd-upgrade');
      expect(job.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-weight': '0' });
      const names = readdirSync(path.join(repoRoot, 'crds'))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => /^\s*name:\s*(\S+)/m.exec(readFileSync(path.join(repoRoot, 'crds', f), 'utf8'))![1]!)
        .sort();
      expect(rulesOf(defaults, 'ClusterRole', 'tapr-crd-upgrade')).toEqual([
        { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], resourceNames: names, verbs: ['get', 'create', 'patch'] },
      ]);
      const data = (find(defaults, 'ConfigMap', 'tapr-crd-upgrade') as KubeObject & { data: Record<string, string> }).data;
      expect(Object.keys(data).sort()).toEqual(['apply-crds.mjs', ...names.map((n) => `${n}.json`)].sort());
      const subscriptions = JSON.parse(data['subscriptions.dapr.io.json']!);
      expect(subscriptions.spec.conversion.webhook.clientConfig.service).toEqual({ namespace: ns, name: 'dapr-webhook', path: '/convert' });
    });
  });

  describe('when rendered with HA on', () => {
    it.each(workloads)('runs three replicas of $name that prefer different nodes, with a disruption budget', ({ kind, name }) => {
      const object = workload(ha, kind, name);
      expect(object.spec.replicas).toBe(3);
      expect(object.spec.template.spec.affinity).toEqual({
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: name } }, topologyKey: 'kubernetes.io/hostname' } },
          ],
        },
      });
      const budgets = ofKind(ha, 'PodDisruptionBudget').filter((p) => (p['spec'] as { selector: { matchLabels: { app: string } } }).selector.matchLabels.app === name);
      expect(budgets).toHaveLength(1);
      expect(budgets[0]!['spec']).toMatchObject({ maxUnavailable: '25%' });
    });

    it('names the disruption budgets as Dapr does', () => {
      expect(ofKind(ha, 'PodDisruptionBudget').map((p) => p.metadata.name).sort()).toEqual([
        'dapr-operator-disruption-budget',
        'dapr-placement-server-disruption-budget',
        'dapr-scheduler-server-disruption-budget',
        'dapr-sentry-budget',
        'dapr-sidecar-injector-disruption-budget',
      ]);
    });

    it('elects the placement leader with a Lease it alone may update', () => {
      const container = onlyContainer(workload(ha, 'StatefulSet', 'dapr-placement-server'));
      const env = podEnv(container, 'dapr-placement-server-1');
      const options = readPlacementOptions({ argv: expandArgs(container.args!, env), env, fileExists: () => true });
      expect(options.election).toBe('lease');
      expect(options.id).toBe('dapr-placement-server-1');
      expect(options.peers.map((p) => p.id)).toEqual(['dapr-placement-server-0', 'dapr-placement-server-1', 'dapr-placement-server-2']);
      expect(options.peers[0]!.address).toBe(`dapr-placement-server-0.dapr-placement-server.${ns}.svc.cluster.local:8201`);
      expect([options.leaseDurationMs, options.leaseRenewDeadlineMs, options.leaseRetryPeriodMs]).toEqual([4000, 3000, 1000]);
      expect(rulesOf(ha, 'Role', 'dapr-placement')).toEqual([
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['dapr-placement-leader'], verbs: ['get', 'update'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      ]);
    });

    it('keeps the scheduler as it is without HA (its three etcd members do not follow global.ha.replicaCount)', async () => {
      const five = await renderChart({ namespace: ns, values: { global: { ha: { enabled: true, replicaCount: 5 } } } });
      for (const objects of [ha, five]) {
        const scheduler = workload(objects, 'StatefulSet', 'dapr-scheduler-server');
        expect(scheduler.spec.replicas).toBe(3);
        expect(onlyContainer(scheduler).args).toEqual(onlyContainer(workload(defaults, 'StatefulSet', 'dapr-scheduler-server')).args);
      }
      expect(workload(five, 'StatefulSet', 'dapr-placement-server').spec.replicas).toBe(5);
    });
  });

  describe('when given other values', () => {
    it('turns metrics off everywhere', async () => {
      const objects = await renderChart({ namespace: ns, values: { global: { prometheus: { enabled: false } } } });
      for (const { kind, name } of workloads) {
        const object = workload(objects, kind, name);
        const container = onlyContainer(object);
        expect(container.args).toContain('--enable-metrics=false');
        expect(container.args).not.toContain('--metrics-port');
        expect(container.ports?.map((p) => p.name)).not.toContain('metrics');
        expect(Object.keys(object.spec.template.metadata.annotations ?? {})).not.toContain('prometheus.io/scrape');
      }
      for (const service of ofKind(objects, 'Service')) {
        expect(servicePorts(objects, service.metadata.name).map((p) => p.name)).not.toContain('metrics');
        expect(Object.keys(service.metadata.annotations ?? {})).not.toContain('prometheus.io/scrape');
      }
    });

    it('renders no scheduler object when global.scheduler.enabled is false, and tells the injector so', async () => {
      const objects = await renderChart({ namespace: ns, values: { global: { scheduler: { enabled: false } } } });
      expect(kindNames(objects).filter((name) => schedulerObjects.includes(name))).toEqual([]);
      expect(objects.filter((o) => /scheduler/.test(o.metadata.name))).toEqual([]);
      expect(ofKind(objects, 'PodDisruptionBudget')).toEqual([]);
      // Everything else is unchanged.
      expect(kindNames(objects).sort()).toEqual(kindNames(defaults).filter((name) => !schedulerObjects.includes(name)).sort());
      const injector = onlyContainer(workload(objects, 'Deployment', 'dapr-sidecar-injector'));
      expect(injector.args).toContain('--scheduler-enabled=false');
      expect(injector.args).not.toContain('--scheduler-enabled=true');
      const exists = (file: string) => file === '/var/run/secrets/dapr.io/sentrytoken/token';
      const env = podEnv(injector, 'dapr-sidecar-injector-0');
      const options = readInjectorOptions({ argv: expandArgs(injector.args!, env), env, fileExists: exists, readFile: () => undefined });
      expect(options.sidecar.schedulerEnabled).toBe(false);
      // Every default object is present with the scheduler on (the default).
      for (const name of schedulerObjects) expect(kindNames(defaults)).toContain(name);
    });

    it('keeps the scheduler’s data in memory with cluster.inMemoryStorage', async () => {
      const objects = await renderChart({ namespace: ns, values: { dapr_scheduler: { cluster: { inMemoryStorage: true } } } });
      const scheduler = workload(objects, 'StatefulSet', 'dapr-scheduler-server');
      expect(scheduler.spec['volumeClaimTemplates']).toBeUndefined();
      expect(scheduler.spec.template.spec.volumes![0]).toEqual({ name: 'dapr-scheduler-data-dir', emptyDir: { medium: 'Memory' } });
      expect(scheduler.spec.template.spec.volumes!.map((v) => v.name)).toEqual([
        'dapr-scheduler-data-dir',
        'dapr-scheduler-writeable-identity',
        'dapr-trust-bundle',
        'dapr-identity-token',
      ]);
      expect(onlyContainer(scheduler).volumeMounts).toEqual(onlyContainer(workload(defaults, 'StatefulSet', 'dapr-scheduler-server')).volumeMounts);
    });

    it('applies the scheduler’s own values (Dapr’s names)', async () => {
      const objects = await renderChart({
        namespace: ns,
        values: {
          global: { dnsSuffix: '.example.local', mtls: { sentryAddress: 'sentry.example.com:443' }, ha: { disruption: { minimumAvailable: 2 } } },
          dapr_scheduler: {
            image: { name: 'mirror.example.com/tapr/scheduler:1.2.3' },
            logLevel: 'debug',
            statefulsetAnnotations: { 'example.com/pod': 'yes' },
            service: { annotations: { 'example.com/service': 'yes' } },
            ports: { etcdGRPCClientPort: 12379, etcdGRPCPeerPort: 12380 },
            cluster: { etcdDataDirPath: '/data/scheduler', storageClassName: 'fast', storageSize: '5Gi' },
            etcdSpaceQuota: '2Gi',
            etcdCompactionMode: 'revision',
            etcdCompactionRetention: '1000',
            etcdSnapshotCount: 5000,
            etcdMaxSnapshots: 3,
            etcdMaxWals: 4,
            etcdBackendBatchLimit: 100,
            etcdBackendBatchInterval: '10ms',
            etcdDefragThresholdMB: 50,
            etcdInitialElectionTickAdvance: true,
            etcdMetrics: 'extensive',
            workers: 64,
            livenessProbe: { initialDelaySeconds: 20, periodSeconds: 4, failureThreshold: 6 },
            readinessProbe: { initialDelaySeconds: 5, periodSeconds: 2, failureThreshold: 7 },
            securityContext: { fsGroup: 2000 },
            extraArgs: ['--leadership-ttl=10s'],
            extraEnvVars: { EXTRA: 'value' },
          },
        },
      });
      const scheduler = workload(objects, 'StatefulSet', 'dapr-scheduler-server');
      const container = onlyContainer(scheduler);
      expect(container.image).toBe('mirror.example.com/tapr/scheduler:1.2.3');
      expect(scheduler.spec.template.metadata.annotations).toMatchObject({ 'dapr.io/control-plane': 'scheduler', 'example.com/pod': 'yes' });
      for (const name of ['dapr-scheduler-server', 'dapr-scheduler-server-a']) {
        expect(find(objects, 'Service', name).metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'example.com/service': 'yes' });
        expect(servicePorts(objects, name).filter((p) => p.name.startsWith('etcd-')).map((p) => p.port)).toEqual([12379, 12380]);
      }
      expect(container.ports?.filter((p) => p.name?.startsWith('etcd-')).map((p) => p.containerPort)).toEqual([12379, 12380]);
      expect(scheduler.spec['volumeClaimTemplates']).toMatchObject([{ spec: { storageClassName: 'fast', resources: { requests: { storage: '5Gi' } } } }]);
      expect(container.volumeMounts).toContainEqual({ name: 'dapr-scheduler-data-dir', mountPath: '/data/scheduler/' });
      expect(scheduler.spec.template.spec.securityContext).toMatchObject({ fsGroup: 2000 });
      expect(container.livenessProbe).toMatchObject({ initialDelaySeconds: 20, periodSeconds: 4, failureThreshold: 6 });
      expect(container.readinessProbe).toMatchObject({ initialDelaySeconds: 5, periodSeconds: 2, failureThreshold: 7 });
      expect(container.args).toContain('--leadership-ttl=10s');
      expect(find(objects, 'PodDisruptionBudget', 'dapr-scheduler-server-disruption-budget')['spec']).toMatchObject({ minAvailable: 2 });

      const pod = 'dapr-scheduler-server-2';
      const env = podEnv(container, pod);
      expect(env['EXTRA']).toBe('value');
      const options = readSchedulerOptions({ argv: expandArgs(container.args!, env), env, fileExists: () => true });
      expect(options).toMatchObject({ id: pod, logLevel: 'debug', sentryAddress: 'sentry.example.com:443', workers: 64, leadershipTtlMs: 10_000 });
      expect(options.etcd).toMatchObject({
        initialCluster: [0, 1, 2].map((i) => `dapr-scheduler-server-${i}=https://dapr-scheduler-server-${i}.dapr-scheduler-server.${ns}.svc.example.local:12380`),
        dataDir: `/data/scheduler/${ns}/${pod}`,
        clientPort: 12379,
        spaceQuotaBytes: 2 * 2 ** 30,
        compactionMode: 'revision',
        compactionRetention: '1000',
        snapshotCount: 5000,
        maxSnapshots: 3,
        maxWals: 4,
        backendBatchLimit: 100,
        backendBatchIntervalMs: 10,
        bootstrapDefragThresholdMb: 50,
        initialElectionTickAdvance: true,
        metrics: 'extensive',
      });
    });

    it('points the scheduler at an external etcd when etcdEmbed is false', async () => {
      const objects = await renderChart({
        namespace: ns,
        values: {
          dapr_scheduler: {
            etcdEmbed: false,
            etcdClientEndpoints: ['http://etcd-0.etcd:2379', 'http://etcd-1.etcd:2379'],
            etcdClientUsername: 'scheduler',
            etcdClientPassword: 'secret',
          },
        },
      });
      const container = onlyContainer(workload(objects, 'StatefulSet', 'dapr-scheduler-server'));
      expect(container.args).toContain('--etcd-embed=false');
      expect(flagValue(container.args!, '--etcd-client-endpoints')).toBe('http://etcd-0.etcd:2379,http://etcd-1.etcd:2379');
      const env = podEnv(container, 'dapr-scheduler-server-0');
      const options = readSchedulerOptions({ argv: expandArgs(container.args!, env), env, fileExists: () => true });
      expect(options.etcd).toMatchObject({
        embed: false,
        clientEndpoints: ['http://etcd-0.etcd:2379', 'http://etcd-1.etcd:2379'],
        clientUsername: 'scheduler',
        clientPassword: 'secret',
      });
    });

    it('applies registry, tag, log settings, scheduling, resources, trust domain and sidecar image', async () => {
      const objects = await renderChart({
        namespace: ns,
        values: {
          global: {
            registry: 'registry.example.com/tapr',
            tag: '9.9.9',
            logAsJson: true,
            nodeSelector: { 'kubernetes.io/os': 'linux' },
            tolerations: [{ key: 'control-plane', operator: 'Exists', effect: 'NoSchedule' }],
            imagePullSecrets: 'pull-secret',
            mtls: { controlPlaneTrustDomain: 'example.org' },
          },
          dapr_sentry: { logLevel: 'debug', resources: { limits: { memory: '128Mi' } } },
          dapr_sidecar_injector: { image: { name: 'mirror.example.com/dapr/daprd:1.17.13' }, webhookFailurePolicy: 'Ignore' },
        },
      });
      for (const { kind, name, service } of workloads) {
        const object = workload(objects, kind, name);
        const container = onlyContainer(object);
        expect(container.image).toBe(`registry.example.com/tapr/${service}:9.9.9`);
        expect(container.args).toContain('--log-as-json');
        expect(object.spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
        expect(object.spec.template.spec.tolerations).toEqual([{ key: 'control-plane', operator: 'Exists', effect: 'NoSchedule' }]);
        expect(object.spec.template.spec.imagePullSecrets).toEqual([{ name: 'pull-secret' }]);
      }
      const sentry = onlyContainer(workload(objects, 'Deployment', 'dapr-sentry'));
      expect(flagValue(sentry.args!, '--log-level')).toBe('debug');
      expect(flagValue(sentry.args!, '--trust-domain')).toBe('example.org');
      // Helm merges maps: the given limit replaces the default one, the default requests stay.
      expect(sentry.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } });
      const injector = onlyContainer(workload(objects, 'Deployment', 'dapr-sidecar-injector'));
      expect(envValue(injector, 'SIDECAR_IMAGE')).toBe('mirror.example.com/dapr/daprd:1.17.13');
      expect(envValue(injector, 'DAPR_CONTROL_PLANE_TRUST_DOMAIN')).toBe('example.org');
      const placement = onlyContainer(workload(objects, 'StatefulSet', 'dapr-placement-server'));
      expect(placement.args).toContain('--trust-domain=example.org');
      const scheduler = onlyContainer(workload(objects, 'StatefulSet', 'dapr-scheduler-server'));
      expect(scheduler.args).toContain('--trust-domain=example.org');
      expect(JSON.stringify(workload(objects, 'StatefulSet', 'dapr-scheduler-server').spec.template.spec.volumes)).toContain(`spiffe://example.org/ns/${ns}/dapr-sentry`);
      const volumes = workload(objects, 'Deployment', 'dapr-operator').spec.template.spec.volumes!;
      expect(JSON.stringify(volumes)).toContain(`spiffe://example.org/ns/${ns}/dapr-sentry`);
      expect((find(objects, 'MutatingWebhookConfiguration', 'dapr-sidecar-injector') as KubeObject & { webhooks: Array<{ failurePolicy: string }> }).webhooks[0]!.failurePolicy).toBe('Ignore');
      expect((find(objects, 'Configuration', 'daprsystem')['spec'] as { mtls: { controlPlaneTrustDomain: string } }).mtls.controlPlaneTrustDomain).toBe('example.org');
    });

    it('puts a brought root and issuer into the trust bundle', async () => {
      const tls = { root: { certPEM: 'ROOT PEM\n' }, issuer: { certPEM: 'ISSUER PEM\n', keyPEM: 'KEY PEM\n' } };
      const objects = await renderChart({ namespace: ns, values: { dapr_sentry: { tls } } });
      const secret = find(objects, 'Secret', 'dapr-trust-bundle')['data'] as Record<string, string>;
      expect(Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))).toEqual({
        'ca.crt': 'ROOT PEM\n',
        'issuer.crt': 'ISSUER PEM\n',
        'issuer.key': 'KEY PEM\n',
      });
      expect(find(objects, 'ConfigMap', 'dapr-trust-bundle')['data']).toEqual({ 'ca.crt': 'ROOT PEM\n' });
    });

    it.each([
      ['half a brought root', { dapr_sentry: { tls: { root: { certPEM: 'x' } } } }, /set all of root.certPEM, issuer.certPEM and issuer.keyPEM/],
      ['an unknown webhook failure policy', { dapr_sidecar_injector: { webhookFailurePolicy: 'Sometimes' } }, /webhookFailurePolicy must be Fail or Ignore/],
      ['another actor service without its address', { global: { actors: { serviceName: 'scheduler' } } }, /global.actors.serviceAddress/],
    ])('refuses %s with a message naming the value', async (_what, values, message) => {
      await expect(renderChartYaml({ namespace: ns, values })).rejects.toThrow(message);
    });
  });

  describe('when its rendered objects are sent to the API server (server-side dry run)', () => {
    let namespace: string;
    beforeAll(async () => {
      namespace = await createTestNamespace('tapr-chart-dry-run');
    });
    afterAll(async () => {
      await deleteTestNamespace(namespace);
    });

    it.each([
      ['default values', {}],
      ['HA', { global: { ha: { enabled: true } } }],
      ['metrics off and a brought root', { global: { prometheus: { enabled: false } }, dapr_sentry: { tls: { root: { certPEM: 'a' }, issuer: { certPEM: 'b', keyPEM: 'c' } } } }],
      ['the scheduler off', { global: { scheduler: { enabled: false } } }],
      [
        'the scheduler in memory, with an external etcd and its own annotations',
        {
          dapr_scheduler: {
            cluster: { inMemoryStorage: true },
            etcdEmbed: false,
            etcdClientEndpoints: ['http://etcd:2379'],
            statefulsetAnnotations: { 'example.com/pod': 'yes' },
            service: { annotations: { 'example.com/service': 'yes' } },
          },
        },
      ],
    ])('accepts every object with %s', async (_what, values) => {
      const yaml = await renderChartYaml({ namespace, values, includeCrds: true });
      const result = await kubectl(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '--validate=strict', '-f', '-'], { input: yaml });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const accepted = result.stdout.trim().split('\n');
      expect(accepted.every((line) => line.endsWith('(server dry run)'))).toBe(true);
      const rendered = yaml.split('\n').filter((line) => /^kind: /.test(line)).length;
      expect(accepted).toHaveLength(rendered);
    });
  });
});
