import { annotationTable, injectionRequested, readSidecarSettings } from './annotations.js';
import { SidecarTemplate } from './sidecarContainer.js';
import { testEnvironment } from './testdata/environment.js';
import { injectSidecar } from './podMutation.js';
import type { ContainerJson, PodJson } from './kubeTypes.js';

const template = new SidecarTemplate(testEnvironment);

function inject(annotations: Record<string, string>, spec: PodJson['spec'] = {}): { pod: PodJson; daprd: ContainerJson; args: string } {
  const pod: PodJson = {
    metadata: { name: 'web-1', annotations: { 'dapr.io/enabled': 'true', ...annotations } },
    spec: { containers: [{ name: 'app', image: 'app:1' }], ...spec },
  };
  const { settings, problems } = readSidecarSettings(pod.metadata!.annotations);
  expect(problems).toEqual([]);
  const mutated = injectSidecar(template, { pod, settings, appId: settings.appId ?? 'web-1', namespace: 'shop', trustAnchorsPem: 'PEM', mtlsEnabled: true });
  const daprd = mutated.spec!.containers!.find((c) => c.name === 'daprd')!;
  return { pod: mutated, daprd, args: (daprd['args'] as string[]).join(' ') };
}

const arg = (args: string, flag: string) => new RegExp(`(^| )${flag.replace(/[[\]]/g, '\\$&')}( |$)`).test(args);

// One row per annotation: a value to set, and what it must change. The defaults row checks the unset case.
const effects: Record<keyof typeof annotationTable, [Record<string, string>, (r: ReturnType<typeof inject>) => void]> = {
  appId: [{ 'dapr.io/app-id': 'orders' }, (r) => expect(r.args).toContain('--app-id orders')],
  appPort: [{ 'dapr.io/app-port': '8080' }, (r) => expect(r.args).toContain('--app-port 8080')],
  config: [{ 'dapr.io/config': 'tracing' }, (r) => expect(r.args).toContain('--config tracing')],
  appProtocol: [{ 'dapr.io/app-protocol': 'GRPC' }, (r) => expect(r.args).toContain('--app-protocol grpc')],
  appSsl: [{ 'dapr.io/app-ssl': 'true' }, (r) => expect(r.pod.spec!.containers![0]!.env).toContainEqual({ name: 'APP_PROTOCOL', value: 'https' })],
  enableProfiling: [{ 'dapr.io/enable-profiling': 'yes' }, (r) => expect(arg(r.args, '--enable-profiling')).toBe(true)],
  logLevel: [{ 'dapr.io/log-level': 'debug' }, (r) => expect(r.args).toContain('--log-level debug')],
  apiTokenSecret: [
    { 'dapr.io/api-token-secret': 'api' },
    (r) => expect(r.daprd.env).toContainEqual({ name: 'DAPR_API_TOKEN', valueFrom: { secretKeyRef: { name: 'api', key: 'token' } } }),
  ],
  appTokenSecret: [
    { 'dapr.io/app-token-secret': 'app' },
    (r) => expect(r.daprd.env).toContainEqual({ name: 'APP_API_TOKEN', valueFrom: { secretKeyRef: { name: 'app', key: 'token' } } }),
  ],
  logAsJson: [{ 'dapr.io/log-as-json': 'true' }, (r) => expect(arg(r.args, '--log-as-json')).toBe(true)],
  appMaxConcurrency: [{ 'dapr.io/app-max-concurrency': '10' }, (r) => expect(r.args).toContain('--app-max-concurrency 10')],
  enableMetrics: [
    { 'dapr.io/enable-metrics': 'false' },
    (r) => {
      expect(arg(r.args, '--enable-metrics')).toBe(false);
      expect(r.pod.metadata!.labels!['dapr.io/metrics-enabled']).toBe('false');
    },
  ],
  metricsPort: [{ 'dapr.io/metrics-port': '9191' }, (r) => expect(r.args).toContain('--metrics-port 9191')],
  enableDebug: [
    { 'dapr.io/enable-debug': 'true', 'dapr.io/debug-port': '41000' },
    (r) => {
      expect(r.args.startsWith('/dlv --listen :41000 --accept-multiclient --headless=true --log --api-version=2 exec /daprd -- --dapr-http-port')).toBe(true);
      expect(r.daprd['ports']).toContainEqual({ name: 'dapr-debug', containerPort: 41000 });
    },
  ],
  debugPort: [{ 'dapr.io/enable-debug': 'true', 'dapr.io/debug-port': '41001' }, (r) => expect(r.args).toContain('--listen :41001')],
  env: [
    { 'dapr.io/env': 'A=1,B=x,y' },
    (r) => {
      expect(r.daprd.env).toContainEqual({ name: 'A', value: '1' });
      expect(r.daprd.env).toContainEqual({ name: 'B', value: 'x,y' });
      expect(r.daprd.env).toContainEqual({ name: 'DAPR_ENV_KEYS', value: 'A B' });
    },
  ],
  envFromSecret: [
    { 'dapr.io/env-from-secret': 'PW=db:password,TOKEN=tok' },
    (r) => {
      expect(r.daprd.env).toContainEqual({ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } });
      expect(r.daprd.env).toContainEqual({ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'tok', key: 'tok' } } });
      expect(r.daprd.env).toContainEqual({ name: 'DAPR_ENV_KEYS', value: 'PW TOKEN' });
    },
  ],
  grpcPort: [
    { 'dapr.io/grpc-port': '50011' },
    (r) => {
      expect(r.args).toContain('--dapr-grpc-port 50011');
      expect(r.pod.spec!.containers![0]!.env).toContainEqual({ name: 'DAPR_GRPC_PORT', value: '50011' });
    },
  ],
  internalGrpcPort: [{ 'dapr.io/internal-grpc-port': '50012' }, (r) => expect(r.args).toContain('--dapr-internal-grpc-port 50012')],
  cpuRequest: [{ 'dapr.io/sidecar-cpu-request': '100m' }, (r) => expect(r.daprd['resources']).toEqual({ requests: { cpu: '100m' } })],
  cpuLimit: [{ 'dapr.io/sidecar-cpu-limit': '1' }, (r) => expect(r.daprd['resources']).toEqual({ limits: { cpu: '1' } })],
  memoryRequest: [{ 'dapr.io/sidecar-memory-request': '64Mi' }, (r) => expect(r.daprd['resources']).toEqual({ requests: { memory: '64Mi' } })],
  memoryLimit: [{ 'dapr.io/sidecar-memory-limit': '1G' }, (r) => expect(r.daprd['resources']).toEqual({ limits: { memory: '1G' } })],
  listenAddresses: [{ 'dapr.io/sidecar-listen-addresses': '0.0.0.0' }, (r) => expect(r.args).toContain('--dapr-listen-addresses 0.0.0.0')],
  livenessProbeDelaySeconds: [{ 'dapr.io/sidecar-liveness-probe-delay-seconds': '7' }, (r) => expect(r.daprd['livenessProbe']).toMatchObject({ initialDelaySeconds: 7 })],
  livenessProbeTimeoutSeconds: [{ 'dapr.io/sidecar-liveness-probe-timeout-seconds': '8' }, (r) => expect(r.daprd['livenessProbe']).toMatchObject({ timeoutSeconds: 8 })],
  livenessProbePeriodSeconds: [{ 'dapr.io/sidecar-liveness-probe-period-seconds': '9' }, (r) => expect(r.daprd['livenessProbe']).toMatchObject({ periodSeconds: 9 })],
  livenessProbeThreshold: [{ 'dapr.io/sidecar-liveness-probe-threshold': '10' }, (r) => expect(r.daprd['livenessProbe']).toMatchObject({ failureThreshold: 10 })],
  readinessProbeDelaySeconds: [{ 'dapr.io/sidecar-readiness-probe-delay-seconds': '0' }, (r) => expect(r.daprd['readinessProbe']).toMatchObject({ initialDelaySeconds: 0 })],
  readinessProbeTimeoutSeconds: [{ 'dapr.io/sidecar-readiness-probe-timeout-seconds': '2' }, (r) => expect(r.daprd['readinessProbe']).toMatchObject({ timeoutSeconds: 2 })],
  readinessProbePeriodSeconds: [{ 'dapr.io/sidecar-readiness-probe-period-seconds': '4' }, (r) => expect(r.daprd['readinessProbe']).toMatchObject({ periodSeconds: 4 })],
  readinessProbeThreshold: [{ 'dapr.io/sidecar-readiness-probe-threshold': '5' }, (r) => expect(r.daprd['readinessProbe']).toMatchObject({ failureThreshold: 5 })],
  sidecarImage: [{ 'dapr.io/sidecar-image': 'my/daprd:dev' }, (r) => expect(r.daprd.image).toBe('my/daprd:dev')],
  seccompProfileType: [
    { 'dapr.io/sidecar-seccomp-profile-type': 'RuntimeDefault' },
    (r) => expect(r.daprd['securityContext']).toMatchObject({ seccompProfile: { type: 'RuntimeDefault' } }),
  ],
  httpMaxRequestSize: [{ 'dapr.io/http-max-request-size': '16' }, (r) => expect(r.args).toContain('--dapr-http-max-request-size 16')],
  maxBodySize: [{ 'dapr.io/max-body-size': '16Mi' }, (r) => expect(r.args).toContain('--max-body-size 16Mi')],
  httpReadBufferSize: [{ 'dapr.io/http-read-buffer-size': '8' }, (r) => expect(r.args).toContain('--dapr-http-read-buffer-size 8')],
  readBufferSize: [{ 'dapr.io/read-buffer-size': '8Ki' }, (r) => expect(r.args).toContain('--read-buffer-size 8Ki')],
  gracefulShutdownSeconds: [{ 'dapr.io/graceful-shutdown-seconds': '30' }, (r) => expect(r.args).toContain('--dapr-graceful-shutdown-seconds 30')],
  blockShutdownDuration: [{ 'dapr.io/block-shutdown-duration': '1m30s' }, (r) => expect(r.args).toContain('--dapr-block-shutdown-duration 1m30s')],
  enableApiLogging: [{ 'dapr.io/enable-api-logging': 'false' }, (r) => expect(arg(r.args, '--enable-api-logging=false')).toBe(true)],
  unixDomainSocketPath: [
    { 'dapr.io/unix-domain-socket-path': '/tmp/sockets' },
    (r) => {
      expect(r.args).toContain('--unix-domain-socket /var/run/dapr-sockets');
      expect(r.pod.spec!.volumes).toContainEqual({ name: 'dapr-unix-domain-socket', emptyDir: { medium: 'Memory' } });
      expect(r.pod.spec!.containers![0]!.volumeMounts).toEqual([{ name: 'dapr-unix-domain-socket', mountPath: '/tmp/sockets' }]);
      expect(r.daprd.volumeMounts).toContainEqual({ name: 'dapr-unix-domain-socket', mountPath: '/var/run/dapr-sockets' });
    },
  ],
  volumeMounts: [{ 'dapr.io/volume-mounts': 'certs:/certs' }, (r) => expect(r.daprd.volumeMounts).toContainEqual({ name: 'certs', mountPath: '/certs', readOnly: true })],
  volumeMountsRw: [{ 'dapr.io/volume-mounts-rw': 'certs:/rw' }, (r) => expect(r.daprd.volumeMounts).toContainEqual({ name: 'certs', mountPath: '/rw', readOnly: false })],
  disableBuiltinK8sSecretStore: [{ 'dapr.io/disable-builtin-k8s-secret-store': 'true' }, (r) => expect(arg(r.args, '--disable-builtin-k8s-secret-store')).toBe(true)],
  enableAppHealthCheck: [
    { 'dapr.io/enable-app-health-check': 'true' },
    (r) =>
      expect(r.args).toContain(
        '--enable-app-health-check --app-health-check-path /healthz --app-health-probe-interval 5 --app-health-probe-timeout 500 --app-health-threshold 3',
      ),
  ],
  appHealthCheckPath: [{ 'dapr.io/enable-app-health-check': 'true', 'dapr.io/app-health-check-path': '/ready' }, (r) => expect(r.args).toContain('--app-health-check-path /ready')],
  appHealthProbeInterval: [{ 'dapr.io/enable-app-health-check': 'true', 'dapr.io/app-health-probe-interval': '9' }, (r) => expect(r.args).toContain('--app-health-probe-interval 9')],
  appHealthProbeTimeout: [{ 'dapr.io/enable-app-health-check': 'true', 'dapr.io/app-health-probe-timeout': '900' }, (r) => expect(r.args).toContain('--app-health-probe-timeout 900')],
  appHealthThreshold: [{ 'dapr.io/enable-app-health-check': 'true', 'dapr.io/app-health-threshold': '7' }, (r) => expect(r.args).toContain('--app-health-threshold 7')],
  placementHostAddress: [
    { 'dapr.io/placement-host-address': '"placement:50005"' },
    (r) => expect(r.args).toContain('--placement-host-address placement:50005 --enable-mtls'),
  ],
  schedulerHostAddress: [{ 'dapr.io/scheduler-host-address': "''" }, (r) => expect(r.args.endsWith('--scheduler-host-address ')).toBe(true)],
  pluggableComponents: [
    { 'dapr.io/pluggable-components': 'store' },
    (r) => {
      const store = r.pod.spec!.containers!.find((c) => c.name === 'store')!;
      expect(store.env).toEqual([{ name: 'DAPR_COMPONENT_SOCKETS_FOLDER', value: '/tmp/dapr-components-sockets' }]);
      expect(r.daprd.env).toContainEqual({ name: 'DAPR_COMPONENT_SOCKETS_FOLDER', value: '/tmp/dapr-components-sockets' });
      expect(r.pod.spec!.containers![0]!.env).toContainEqual({ name: 'DAPR_HTTP_PORT', value: '3500' });
      expect(store.env?.some((e) => e.name === 'DAPR_HTTP_PORT')).toBe(false);
    },
  ],
  pluggableComponentsSocketsFolder: [
    { 'dapr.io/pluggable-components': 'store', 'dapr.io/pluggable-components-sockets-folder': '/sock' },
    (r) => expect(r.daprd.volumeMounts).toContainEqual({ name: 'dapr-components-unix-domain-socket', mountPath: '/sock' }),
  ],
  injectPluggableComponents: [{ 'dapr.io/inject-pluggable-components': 'true' }, (r) => expect(r.daprd).toBeDefined()], // the lookup is admission.test.ts's
  appChannelAddress: [{ 'dapr.io/app-channel-address': '10.0.0.5' }, (r) => expect(r.args).toContain('--app-channel-address 10.0.0.5')],
  sentryRequestJwtAudiences: [{ 'dapr.io/sentry-request-jwt-audiences': 'a,b' }, (r) => expect(r.args).toContain('--sentry-request-jwt-audiences a,b')],
  disableInitEndpoints: [{ 'dapr.io/disable-init-endpoints': 'config' }, (r) => expect(r.args.endsWith('--disable-init-endpoints config')).toBe(true)],
};

describe('the dapr.io annotation table', () => {
  it('has an effect test for every annotation it reads', () => {
    expect(Object.keys(effects).sort()).toEqual(Object.keys(annotationTable).sort());
  });

  describe.each(Object.entries(effects))('annotation %s', (field, [annotations, check]) => {
    it(`applies ${Object.entries(annotations).map(([k, v]) => `${k}=${v}`).join(' ')}`, () => {
      const containers = [{ name: 'app', image: 'app:1' }, { name: 'store', image: 'store:1' }];
      check(inject(annotations, { containers, volumes: [{ name: 'certs', emptyDir: {} }] }));
      expect(field).toBeTruthy();
    });
  });

  describe('when no annotation but dapr.io/enabled is set', () => {
    it('uses every default of Dapr 1.17', () => {
      const { daprd, args } = inject({});
      expect(args).toBe(
        '/daprd --dapr-http-port 3500 --dapr-grpc-port 50001 --dapr-internal-grpc-port 50002 --dapr-listen-addresses [::1],127.0.0.1 ' +
          '--dapr-public-port 3501 --app-id web-1 --app-protocol http --log-level info --dapr-graceful-shutdown-seconds -1 --mode kubernetes ' +
          '--control-plane-address dapr-api.dapr-system.svc.cluster.local:443 --sentry-address dapr-sentry.dapr-system.svc.cluster.local:443 ' +
          '--enable-metrics --metrics-port 9090 --placement-host-address dapr-placement-server.dapr-system.svc.cluster.local:50005 ' +
          '--enable-mtls --scheduler-host-address dapr-scheduler-server-a.dapr-system.svc.cluster.local:443',
      );
      expect(daprd.env!.map((e) => e.name)).toEqual(['NAMESPACE', 'DAPR_TRUST_ANCHORS', 'POD_NAME', 'DAPR_CONTROLPLANE_NAMESPACE', 'DAPR_CONTROLPLANE_TRUST_DOMAIN']);
      expect(daprd['readinessProbe']).toEqual({
        httpGet: { path: '/v1.0/healthz', port: 3501 },
        initialDelaySeconds: 3,
        timeoutSeconds: 3,
        periodSeconds: 6,
        failureThreshold: 3,
      });
      expect(daprd['livenessProbe']).toEqual({ tcpSocket: { port: 3501 }, initialDelaySeconds: 3, timeoutSeconds: 3, periodSeconds: 6, failureThreshold: 3 });
      expect(daprd['securityContext']).toEqual({ allowPrivilegeEscalation: false, runAsNonRoot: true, readOnlyRootFilesystem: true });
      expect(daprd['resources']).toBeUndefined();
      expect(daprd['command']).toBeUndefined();
    });

    it('has a default for every annotation that names an accepted value set', () => {
      const { settings } = readSidecarSettings({});
      for (const [field, spec] of Object.entries(annotationTable)) {
        expect(settings[field as keyof typeof settings]).toEqual(spec.default);
        expect(spec.accepted).not.toBe('');
      }
    });
  });

  describe('when a value is invalid', () => {
    it.each([
      ['dapr.io/app-port', 'abc', 'an integer from 0 to 65535'],
      ['dapr.io/app-port', '70000', 'an integer from 0 to 65535'],
      ['dapr.io/app-protocol', 'ftp', 'one of http, https, grpc, grpcs, h2c'],
      ['dapr.io/app-id', 'My_App', 'a DNS label'],
      ['dapr.io/app-id', 'a'.repeat(59), 'a DNS label'],
      ['dapr.io/log-level', 'verbose', 'one of debug, info, warn, error, fatal'],
      ['dapr.io/enable-metrics', 'maybe', 'true or false'],
      ['dapr.io/sidecar-cpu-limit', 'lots', 'a Kubernetes quantity'],
      ['dapr.io/sidecar-liveness-probe-period-seconds', '0', 'an integer of at least 1'],
      ['dapr.io/graceful-shutdown-seconds', '-2', 'an integer of at least -1'],
      ['dapr.io/block-shutdown-duration', '10 seconds', 'a Go duration'],
      ['dapr.io/env', 'novalue', 'NAME=value'],
      ['dapr.io/env-from-secret', 'A=s:k:x', 'NAME=secret'],
      ['dapr.io/volume-mounts', 'certs', 'volume:/absolute/path'],
      ['dapr.io/unix-domain-socket-path', 'relative', 'an absolute path'],
      ['dapr.io/sidecar-seccomp-profile-type', 'Localhost', 'one of RuntimeDefault, Unconfined'],
      ['dapr.io/sidecar-image', ' ', 'a container image reference'],
    ])('rejects %s=%j, saying it expects %s', (key, value, accepted) => {
      const { problems } = readSidecarSettings({ [key]: value });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ key, value });
      expect(problems[0]!.accepted).toContain(accepted);
    });

    it('reports every invalid annotation at once', () => {
      const { problems } = readSidecarSettings({ 'dapr.io/app-port': 'x', 'dapr.io/metrics-port': 'y', 'dapr.io/unknown-thing': 'z' });
      expect(problems.map((p) => p.key)).toEqual(['dapr.io/app-port', 'dapr.io/metrics-port']);
    });
  });

  describe('the dapr.io/enabled gate', () => {
    it.each([
      ['true', 'inject'],
      ['TRUE', 'inject'],
      ['false', 'skip'],
      ['0', 'skip'],
      [undefined, 'skip'],
    ])('treats %j as %s', (value, expected) => {
      expect(injectionRequested(value === undefined ? {} : { 'dapr.io/enabled': value })).toBe(expected);
    });

    it.each(['yes', 'on', 'ture'])('refuses %j rather than start the pod without a sidecar', (value) => {
      expect(injectionRequested({ 'dapr.io/enabled': value })).toMatchObject({ key: 'dapr.io/enabled', value });
    });
  });
});
