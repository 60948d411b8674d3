// The operator's command line and environment, spelled as Dapr's operator binary spells them (spec §11.2, §11.4):
// Go's stdlib `flag` dialect (parsing stops at the first positional argument), `NAMESPACE` required.
// This is the only module that reads argv and process.env.
import { isLogLevel, type LogLevel } from '@tapr/lib/logger';
import { parseFlags, type FlagSpecs } from '@tapr/lib/flags';
import { parseGoDuration } from '@tapr/lib/duration';

export const defaultConfigName = 'daprsystem';
export const defaultApiPort = 6500;
export const defaultWebhookPort = 19443;
export const defaultHealthzPort = 8080;
export const defaultMetricsPort = '9090';
export const defaultTrustAnchorsFile = '/var/run/secrets/dapr.io/tls/ca.crt';
export const defaultMaxPodRestartsPerMinute = 20;
/** Where Kubernetes mounts the projected token meant for sentry (Helm's `dapr-identity-token` volume). */
export const defaultSentryTokenFile = '/var/run/secrets/dapr.io/sentrytoken/token';
export const legacyServiceAccountTokenFile = '/var/run/secrets/kubernetes.io/serviceaccount/token';

const flagSpecs = {
  config: { type: 'string', default: defaultConfigName, help: 'Path to config file, or name of a configuration object' },
  'watch-interval': {
    type: 'string',
    default: '0',
    help: "Interval for polling pods' state, e.g. '2m'. Set to '0' to disable, or 'once' to only run once when the operator starts",
  },
  'max-pod-restarts-per-minute': {
    type: 'int',
    default: defaultMaxPodRestartsPerMinute,
    help: 'Maximum number of pods in an invalid state that can be restarted per minute',
  },
  'disable-leader-election': { type: 'bool', default: false, help: 'Disable leader election for operator' },
  'disable-service-reconciler': {
    type: 'bool',
    default: false,
    help: 'Disable the Service reconciler for Dapr-enabled Deployments and StatefulSets',
  },
  'watch-namespace': { type: 'string', default: '', help: 'Namespace to watch Dapr annotated resources in' },
  'enable-argo-rollout-service-reconciler': {
    type: 'bool',
    default: false,
    help: 'Enable the service reconciler for Dapr-enabled Argo Rollouts',
  },
  'watchdog-can-patch-pod-labels': {
    type: 'bool',
    default: false,
    help: 'Allow watchdog to patch pod labels to set pods with sidecar present',
  },
  'trust-anchors-file': { type: 'string', default: defaultTrustAnchorsFile, help: 'Filepath to the trust anchors for the Dapr control plane' },
  port: { type: 'int', default: defaultApiPort, help: 'The port for the operator API server to listen on' },
  'listen-address': { type: 'string', default: '', help: 'The listening address for the operator API server' },
  'healthz-port': { type: 'int', default: defaultHealthzPort, help: 'The port for the healthz server to listen on' },
  'healthz-listen-address': { type: 'string', default: '', help: 'The listening address for the healthz server' },
  'webhook-server-port': { type: 'int', default: defaultWebhookPort, help: 'The port for the webhook server to listen on' },
  'webhook-server-listen-address': { type: 'string', default: '', help: 'The listening address for the webhook server' },
  'log-level': { type: 'string', default: 'info', help: 'Options are debug, info, warn, error, or fatal' },
  'log-as-json': { type: 'bool', default: false, help: 'print log as JSON (default false)' },
  'log-file': { type: 'string', default: '', help: 'Write logs to this file instead of stdout' },
  'enable-metrics': { type: 'bool', default: true, help: 'Enable prometheus metric' },
  'metrics-port': { type: 'string', default: defaultMetricsPort, help: 'The port for the metrics server' },
  'metrics-listen-address': { type: 'string', default: '0.0.0.0', help: 'The address for the metrics server' },
  kubeconfig: { type: 'string', default: '', help: 'Paths to a kubeconfig. Only required if out-of-cluster.' },
} satisfies FlagSpecs;

export type WatchdogSetting = { enabled: false } | { enabled: true; intervalMs: number | 'once' };

export interface OperatorOptions {
  /** Name of the Configuration (in `namespace`) holding the control plane's mTLS settings. */
  configName: string;
  namespace: string;
  watchdog: WatchdogSetting;
  maxPodRestartsPerMinute: number;
  leaderElection: boolean;
  serviceReconciler: boolean;
  /** Empty: every namespace. */
  watchNamespace: string;
  argoRolloutServiceReconciler: boolean;
  watchdogCanPatchPodLabels: boolean;
  trustAnchorsFile: string;
  apiPort: number;
  apiListenAddress: string;
  healthzPort: number;
  healthzListenAddress: string;
  webhookPort: number;
  webhookListenAddress: string;
  /** `ENABLE_WEBHOOKS=false` (any case) turns the conversion webhook and the CRD caBundle patching off. */
  conversionWebhook: boolean;
  logLevel: LogLevel;
  logAsJson: boolean;
  logFile: string;
  metricsEnabled: boolean;
  metricsPort: number;
  metricsListenAddress: string;
  kubeconfig: string;
  /** File with the token sentry validates; undefined when none applies. */
  sentryTokenFile: string | undefined;
  /** `POD_NAME` (set by the Helm chart): this replica's name in the Lease and in Events. */
  podName: string | undefined;
  /** `SENTRY_LOCAL_IDENTITY` replaces the app id in sentry requests. */
  sentryLocalIdentity: string | undefined;
  /** The environment, for the Kubernetes client configuration (KUBECONFIG, in-cluster variables, HOME). */
  env: NodeJS.ProcessEnv;
}

export interface ReadOptionsInput {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  /** For tests: whether a file exists (token file discovery). */
  fileExists?: (path: string) => boolean;
}

export function readOptions(input: ReadOptionsInput): OperatorOptions {
  const { values } = parseFlags(flagSpecs, input.argv, {
    program: 'operator',
    dialect: 'goflag',
    summary: 'tapr operator: serves the dapr.io resources to sidecars and manages <app-id>-dapr Services',
  });
  const env = input.env;
  const options: OperatorOptions = {
    configName: values.config,
    namespace: env['NAMESPACE'] ?? '',
    watchdog: parseWatchInterval(values['watch-interval']),
    maxPodRestartsPerMinute: values['max-pod-restarts-per-minute'],
    leaderElection: !values['disable-leader-election'],
    serviceReconciler: !values['disable-service-reconciler'],
    watchNamespace: values['watch-namespace'],
    argoRolloutServiceReconciler: values['enable-argo-rollout-service-reconciler'],
    watchdogCanPatchPodLabels: values['watchdog-can-patch-pod-labels'],
    trustAnchorsFile: values['trust-anchors-file'],
    apiPort: values.port,
    apiListenAddress: values['listen-address'],
    healthzPort: values['healthz-port'],
    healthzListenAddress: values['healthz-listen-address'],
    webhookPort: values['webhook-server-port'],
    webhookListenAddress: values['webhook-server-listen-address'],
    conversionWebhook: (env['ENABLE_WEBHOOKS'] ?? '').toLowerCase() !== 'false',
    logLevel: values['log-level'] as LogLevel,
    logAsJson: values['log-as-json'],
    logFile: values['log-file'],
    metricsEnabled: values['enable-metrics'],
    metricsPort: Number(values['metrics-port']),
    metricsListenAddress: values['metrics-listen-address'],
    kubeconfig: values.kubeconfig,
    sentryTokenFile: sentryTokenFile(env, input.fileExists),
    podName: env['POD_NAME'] || undefined,
    sentryLocalIdentity: env['SENTRY_LOCAL_IDENTITY'] || undefined,
    env,
  };
  validate(options, values['log-level'], values['metrics-port']);
  return options;
}

/** `--watch-interval`: 0/false/f/no/off = off, `once`, or a Go duration of at least one second. */
export function parseWatchInterval(text: string): WatchdogSetting {
  const lower = text.toLowerCase();
  if (['0', 'false', 'f', 'no', 'off'].includes(lower)) return { enabled: false };
  if (lower === 'once') return { enabled: true, intervalMs: 'once' };
  let ms: number;
  try {
    ms = parseGoDuration(text);
  } catch (error) {
    throw new Error(`invalid value for watch-interval: ${(error as Error).message}`, { cause: error });
  }
  if (ms < 1000) throw new Error("invalid watch-interval value: if not '0' or 'once', must be at least 1s");
  return { enabled: true, intervalMs: ms };
}

function sentryTokenFile(env: NodeJS.ProcessEnv, fileExists: ((path: string) => boolean) | undefined): string | undefined {
  if (env['DAPR_SENTRY_TOKEN_FILE']) return env['DAPR_SENTRY_TOKEN_FILE'];
  const exists = fileExists ?? (() => false);
  if (exists(defaultSentryTokenFile)) return defaultSentryTokenFile;
  if (exists(legacyServiceAccountTokenFile)) return legacyServiceAccountTokenFile;
  return undefined;
}

function validate(options: OperatorOptions, logLevel: string, metricsPort: string): void {
  if (!options.namespace) throw new Error('the NAMESPACE environment variable must be set to the namespace the operator runs in');
  if (!isLogLevel(logLevel)) throw new Error(`--log-level: "${logLevel}" is not one of debug, info, warn, error, fatal`);
  if (!/^\d+$/.test(metricsPort) || options.metricsPort > 65535) {
    throw new Error(`--metrics-port: "${metricsPort}" is not a port number`);
  }
  for (const [flag, port] of [
    ['--port', options.apiPort],
    ['--healthz-port', options.healthzPort],
    ['--webhook-server-port', options.webhookPort],
  ] as const) {
    if (port < 0 || port > 65535) throw new Error(`${flag}: ${port} is not a port number`);
  }
  if (options.maxPodRestartsPerMinute < 0) throw new Error('--max-pod-restarts-per-minute must not be negative');
}
