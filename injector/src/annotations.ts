// The one table of `dapr.io/*` pod annotations the injector reads: key, type, default, accepted values (spec §5.3).
// Everything else — the sidecar container, the docs' annotation list, the denial messages — derives from it.
import {
  bool,
  custom,
  duration,
  integer,
  InvalidAnnotationValue,
  nonEmpty,
  oneOf,
  optionalBool,
  optionalInteger,
  optionalOneOf,
  optionalText,
  parseTruthy,
  port,
  quantity,
  text,
  type AnnotationSpec,
} from './annotationTypes.js';
import {
  appIdAccepted,
  parseAppId,
  parseEnv,
  parseNameList,
  parseSecretEnv,
  parseVolumeMounts,
  type EnvVar,
  type SecretEnvVar,
  type VolumeMountRef,
} from './annotationLists.js';

export const enabledAnnotation = 'dapr.io/enabled';

export const appProtocols = ['http', 'https', 'grpc', 'grpcs', 'h2c'] as const;
export const logLevels = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
// Localhost needs a localhostProfile, which no annotation can give, so the API server would reject the pod.
export const seccompProfileTypes = ['RuntimeDefault', 'Unconfined'] as const;

const probe = (kind: 'liveness' | 'readiness', what: 'delay-seconds' | 'timeout-seconds' | 'period-seconds' | 'threshold', fallback: number) =>
  integer(`dapr.io/sidecar-${kind}-probe-${what}`, fallback, { min: what === 'delay-seconds' ? 0 : 1 }, {
    help: `the sidecar's ${kind} probe ${what.replace('-', ' ')}`,
  });

export const annotationTable = {
  appId: custom<string | undefined>('dapr.io/app-id', undefined, {
    accepted: appIdAccepted,
    parse: parseAppId,
    help: 'the app id (`--app-id`); defaults to the pod name',
  }),
  appPort: integer('dapr.io/app-port', 0, { min: 0, max: 65535 }, { help: 'the port the app listens on (`--app-port`, only when > 0)' }),
  config: text('dapr.io/config', '', { help: 'the Configuration to load (`--config`)' }),
  appProtocol: oneOf('dapr.io/app-protocol', 'http', appProtocols, { caseInsensitive: true, help: 'how daprd talks to the app' }),
  appSsl: bool('dapr.io/app-ssl', false, { help: 'deprecated: TLS to the app (`--app-ssl`)' }),
  enableProfiling: bool('dapr.io/enable-profiling', false, { help: '`--enable-profiling`' }),
  logLevel: oneOf('dapr.io/log-level', 'info', logLevels, { caseInsensitive: true, help: "daprd's log level" }),
  apiTokenSecret: text('dapr.io/api-token-secret', '', { help: 'Secret whose `token` key becomes DAPR_API_TOKEN' }),
  appTokenSecret: text('dapr.io/app-token-secret', '', { help: 'Secret whose `token` key becomes APP_API_TOKEN' }),
  logAsJson: bool('dapr.io/log-as-json', false, { help: '`--log-as-json`' }),
  appMaxConcurrency: optionalInteger('dapr.io/app-max-concurrency', { min: -1 }, { help: '`--app-max-concurrency`' }),
  enableMetrics: bool('dapr.io/enable-metrics', true, { help: '`--enable-metrics` with `--metrics-port`' }),
  metricsPort: port('dapr.io/metrics-port', 9090, { help: "daprd's metrics port" }),
  enableDebug: bool('dapr.io/enable-debug', false, { help: 'run daprd under the dlv debugger' }),
  debugPort: port('dapr.io/debug-port', 40000, { help: "the debugger's port" }),
  env: custom<EnvVar[]>('dapr.io/env', [], { accepted: parseEnv.accepted, parse: parseEnv, help: 'env vars for daprd' }),
  envFromSecret: custom<SecretEnvVar[]>('dapr.io/env-from-secret', [], {
    accepted: parseSecretEnv.accepted,
    parse: parseSecretEnv,
    help: 'env vars for daprd read from Secrets',
  }),
  grpcPort: port('dapr.io/grpc-port', 50001, { help: "daprd's API gRPC port" }),
  internalGrpcPort: port('dapr.io/internal-grpc-port', 50002, { help: "daprd's internal gRPC port" }),
  cpuRequest: quantity('dapr.io/sidecar-cpu-request', { help: "the sidecar's CPU request" }),
  cpuLimit: quantity('dapr.io/sidecar-cpu-limit', { help: "the sidecar's CPU limit" }),
  memoryRequest: quantity('dapr.io/sidecar-memory-request', { help: "the sidecar's memory request" }),
  memoryLimit: quantity('dapr.io/sidecar-memory-limit', { help: "the sidecar's memory limit" }),
  listenAddresses: text('dapr.io/sidecar-listen-addresses', '[::1],127.0.0.1', { help: '`--dapr-listen-addresses`' }),
  livenessProbeDelaySeconds: probe('liveness', 'delay-seconds', 3),
  livenessProbeTimeoutSeconds: probe('liveness', 'timeout-seconds', 3),
  livenessProbePeriodSeconds: probe('liveness', 'period-seconds', 6),
  livenessProbeThreshold: probe('liveness', 'threshold', 3),
  readinessProbeDelaySeconds: probe('readiness', 'delay-seconds', 3),
  readinessProbeTimeoutSeconds: probe('readiness', 'timeout-seconds', 3),
  readinessProbePeriodSeconds: probe('readiness', 'period-seconds', 6),
  readinessProbeThreshold: probe('readiness', 'threshold', 3),
  sidecarImage: nonEmpty('dapr.io/sidecar-image', { accepted: 'a container image reference', help: "overrides the injector's SIDECAR_IMAGE" }),
  seccompProfileType: optionalOneOf('dapr.io/sidecar-seccomp-profile-type', seccompProfileTypes, { help: 'securityContext.seccompProfile.type' }),
  httpMaxRequestSize: optionalInteger('dapr.io/http-max-request-size', { min: 0 }, { help: 'legacy: max request body in MB' }),
  maxBodySize: quantity('dapr.io/max-body-size', { help: '`--max-body-size` (daprd default 4Mi)' }),
  httpReadBufferSize: optionalInteger('dapr.io/http-read-buffer-size', { min: 0 }, { help: 'legacy: read buffer in KB' }),
  readBufferSize: quantity('dapr.io/read-buffer-size', { help: '`--read-buffer-size` (daprd default 4Ki)' }),
  gracefulShutdownSeconds: integer('dapr.io/graceful-shutdown-seconds', -1, { min: -1 }, { help: '`--dapr-graceful-shutdown-seconds` (-1: daprd default, 5 s)' }),
  blockShutdownDuration: duration('dapr.io/block-shutdown-duration', { help: '`--dapr-block-shutdown-duration`' }),
  enableApiLogging: optionalBool('dapr.io/enable-api-logging', { help: '`--enable-api-logging=<bool>`, only when set' }),
  unixDomainSocketPath: custom<string>('dapr.io/unix-domain-socket-path', '', {
    accepted: 'an absolute path',
    parse: (raw) => {
      if (!raw.trim().startsWith('/')) throw new InvalidAnnotationValue('an absolute path');
      return raw.trim();
    },
    help: 'where the app sees the socket folder; daprd uses /var/run/dapr-sockets',
  }),
  volumeMounts: custom<VolumeMountRef[]>('dapr.io/volume-mounts', [], {
    accepted: parseVolumeMounts.accepted,
    parse: parseVolumeMounts,
    help: 'pod volumes mounted read-only into daprd',
  }),
  volumeMountsRw: custom<VolumeMountRef[]>('dapr.io/volume-mounts-rw', [], {
    accepted: parseVolumeMounts.accepted,
    parse: parseVolumeMounts,
    help: 'pod volumes mounted read-write into daprd',
  }),
  disableBuiltinK8sSecretStore: bool('dapr.io/disable-builtin-k8s-secret-store', false, { help: '`--disable-builtin-k8s-secret-store`' }),
  enableAppHealthCheck: bool('dapr.io/enable-app-health-check', false, { help: '`--enable-app-health-check`' }),
  appHealthCheckPath: text('dapr.io/app-health-check-path', '/healthz', { help: '`--app-health-check-path`' }),
  appHealthProbeInterval: integer('dapr.io/app-health-probe-interval', 5, { min: 1 }, { help: 'seconds between app health probes' }),
  appHealthProbeTimeout: integer('dapr.io/app-health-probe-timeout', 500, { min: 1 }, { help: 'app health probe timeout in ms' }),
  appHealthThreshold: integer('dapr.io/app-health-threshold', 3, { min: 1 }, { help: 'failed probes before the app is unhealthy' }),
  placementHostAddress: optionalText('dapr.io/placement-host-address', { trimQuotes: true, help: 'overrides the placement address ("" = none)' }),
  schedulerHostAddress: optionalText('dapr.io/scheduler-host-address', { trimQuotes: true, help: 'overrides the scheduler address ("" = none)' }),
  pluggableComponents: custom<string[]>('dapr.io/pluggable-components', [], {
    accepted: 'comma-separated container names',
    parse: parseNameList,
    help: 'containers of the pod that are pluggable components',
  }),
  pluggableComponentsSocketsFolder: text('dapr.io/pluggable-components-sockets-folder', '', { help: 'socket folder for pluggable components' }),
  injectPluggableComponents: bool('dapr.io/inject-pluggable-components', false, { help: "add the containers of the namespace's pluggable Components" }),
  appChannelAddress: text('dapr.io/app-channel-address', '', { help: '`--app-channel-address`' }),
  sentryRequestJwtAudiences: text('dapr.io/sentry-request-jwt-audiences', '', { help: '`--sentry-request-jwt-audiences`' }),
  disableInitEndpoints: optionalText('dapr.io/disable-init-endpoints', { help: '`--disable-init-endpoints`' }),
} satisfies Record<string, AnnotationSpec<unknown>>;

type Table = typeof annotationTable;
export type SidecarSettings = { [K in keyof Table]: Table[K]['default'] | ReturnType<Table[K]['parse']> };

const defaults = Object.fromEntries(Object.entries(annotationTable).map(([field, spec]) => [field, spec.default])) as SidecarSettings;
const fieldsByKey = new Map<string, keyof Table>(Object.entries(annotationTable).map(([field, spec]) => [spec.key, field as keyof Table]));

export interface AnnotationProblem {
  key: string;
  value: string;
  accepted: string;
}

export function describeProblem(problem: AnnotationProblem): string {
  return `annotation ${problem.key}: ${JSON.stringify(problem.value)} is not valid; expected ${problem.accepted}`;
}

/**
 * Reads the sidecar settings from a pod's annotations. Only `dapr.io/*` keys are looked at; unknown ones are
 * ignored (other tools and later Dapr versions use the prefix too). Every invalid value is reported, not just
 * the first, so one denial tells the user all there is to fix.
 */
export function readSidecarSettings(annotations: Record<string, string> | undefined): { settings: SidecarSettings; problems: AnnotationProblem[] } {
  const settings: Record<string, unknown> = { ...defaults };
  const problems: AnnotationProblem[] = [];
  for (const key in annotations) {
    if (!key.startsWith('dapr.io/')) continue;
    const field = fieldsByKey.get(key);
    if (field === undefined) continue;
    const spec = annotationTable[field] as AnnotationSpec<unknown>;
    const value = annotations[key] as string;
    try {
      settings[field] = spec.parse(value);
    } catch (error) {
      if (!(error instanceof InvalidAnnotationValue)) throw error;
      problems.push({ key, value, accepted: error.message });
    }
  }
  return { settings: settings as SidecarSettings, problems };
}

export type InjectionRequest = 'inject' | 'skip' | AnnotationProblem;

/**
 * The gate: `dapr.io/enabled: "true"` (any case, as in Dapr) asks for injection; absent or a "no" word means
 * leave the pod alone. Other values — "yes", "on", typos — are refused: Dapr injects only on "true" and would
 * silently start such a pod without a sidecar.
 */
export function injectionRequested(annotations: Record<string, string> | undefined): InjectionRequest {
  const value = annotations?.[enabledAnnotation];
  if (value === undefined) return 'skip';
  if (value.toLowerCase() === 'true') return 'inject';
  if (parseTruthy(value) === false) return 'skip';
  return { key: enabledAnnotation, value, accepted: '"true" to inject the sidecar, or "false" to leave the pod alone' };
}
