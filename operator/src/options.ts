// The operator's command line and environment, spelled as Dapr's operator binary spells them (spec §11.2, §11.4):
// Go's stdlib `flag` dialect (parsing stops at the first positional argument), `NAMESPACE` required.
// This is the only module that reads argv and process.env.
import { parseFlags, type FlagSpecs } from '@tapr/lib/flags';
import { checkPort, commonFlagSpecs, kubeconfigFlagSpec, readCommonOptions, type CommonOptions } from '@tapr/lib/flagsCommon';
import { parseGoDuration } from '@tapr/lib/duration';

export const defaultConfigName = 'daprsystem';
export const defaultApiPort = 6500;
export const defaultWebhookPort = 19443;
export const defaultTrustAnchorsFile = '/var/run/secrets/dapr.io/tls/ca.crt';
export const defaultMaxPodRestartsPerMinute = 20;
/** Where Kubernetes mounts the projected token meant for sentry (Helm's `dapr-identity-token` volume). */
export const defaultSentryTokenFile = '/var/run/secrets/dapr.io/sentrytoken/token';
export const legacyServiceAccountTokenFile = '/var/run/secrets/kubernetes.io/serviceaccount/token';

const flagSpecs = {
  ...commonFlagSpecs,
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
  'webhook-server-port': { type: 'int', default: defaultWebhookPort, help: 'The port for the webhook server to listen on' },
  'webhook-server-listen-address': { type: 'string', default: '', help: 'The listening address for the webhook server' },
  kubeconfig: kubeconfigFlagSpec('empty'),
} satisfies FlagSpecs;

export type WatchdogSetting = { enabled: false } | { enabled: true; intervalMs: number | 'once' };

// `metricsEnabled` rather than `enableMetrics`: the name other code (and the chart tests) read it by.
export interface OperatorOptions extends Omit<CommonOptions, 'enableMetrics'> {
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
  webhookPort: number;
  webhookListenAddress: string;
  /** `ENABLE_WEBHOOKS=false` (any case) turns the conversion webhook and the CRD caBundle patching off. */
  conversionWebhook: boolean;
  metricsEnabled: boolean;
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
  const namespace = env['NAMESPACE'] ?? '';
  if (!namespace) throw new Error('the NAMESPACE environment variable must be set to the namespace the operator runs in');
  const { enableMetrics, ...common } = readCommonOptions(values);
  const options: OperatorOptions = {
    ...common,
    configName: values.config,
    namespace,
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
    webhookPort: values['webhook-server-port'],
    webhookListenAddress: values['webhook-server-listen-address'],
    conversionWebhook: (env['ENABLE_WEBHOOKS'] ?? '').toLowerCase() !== 'false',
    metricsEnabled: enableMetrics,
    kubeconfig: values.kubeconfig,
    sentryTokenFile: sentryTokenFile(env, input.fileExists),
    podName: env['POD_NAME'] || undefined,
    sentryLocalIdentity: env['SENTRY_LOCAL_IDENTITY'] || undefined,
    env,
  };
  checkPort(options.apiPort, '--port');
  checkPort(options.webhookPort, '--webhook-server-port');
  if (options.maxPodRestartsPerMinute < 0) throw new Error('--max-pod-restarts-per-minute must not be negative');
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
