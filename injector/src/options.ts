// The injector's flags and environment — the only module that reads process.env/argv. Flags and env vars are
// Dapr's (spec §11.5, §5.2); three flags are tapr's own: --cert-source, --webhook-configuration-name and
// --sidecar-token-volume (docs/injector.md).
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkPort, commonFlagSpecs, kubeconfigFlagSpec, parseFlags, readCommonOptions, type CommonOptions } from '@tapr/lib';
import { builtInControllerAccounts, parseAccountList, ServiceAccountMatcher, type AccountRef } from './callerAuthorisation.js';
import { parseTruthy } from './annotationTypes.js';
import { defaultComponentSocketsFolder, type SidecarEnvironment } from './sidecarContainer.js';
import type { TolerationJson } from './kubeTypes.js';

export const defaults = {
  port: 4000,
  trustAnchorsFile: '/var/run/dapr.io/tls/ca.crt',
  controlPlaneTrustDomain: 'cluster.local',
  kubeClusterDomain: 'cluster.local',
  webhookConfigurationName: 'dapr-sidecar-injector',
  selfManagedCaSecret: 'tapr-sidecar-injector-ca',
  sentryTokenFile: '/var/run/secrets/dapr.io/sentrytoken/token',
  legacyTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
} as const;

function flagSpecs(env: NodeJS.ProcessEnv) {
  return {
    ...commonFlagSpecs,
    port: { type: 'int', default: defaults.port, help: 'The port used for the injector service (HTTPS, path /mutate)' },
    'listen-address': { type: 'string', default: '', help: 'The listen address for the injector service ("" = all interfaces)' },
    'scheduler-enabled': { type: 'bool', default: true, help: 'Marks if scheduler is enabled in the cluster, and address should be patched on sidecars.' },
    kubeconfig: kubeconfigFlagSpec('home', env),
    'cert-source': {
      type: 'string',
      default: 'auto',
      help: 'tapr: where the serving certificate comes from: sentry, self-managed, or auto (sentry when DAPR_SENTRY_ADDRESS is set)',
    },
    'webhook-configuration-name': {
      type: 'string',
      default: defaults.webhookConfigurationName,
      help: 'tapr: the MutatingWebhookConfiguration whose caBundle the injector keeps current',
    },
    'sidecar-token-volume': {
      type: 'string',
      default: 'auto',
      help: "tapr: give sidecars the projected sentry token volume: always, never, or auto (when the injector has a Kubernetes token, as Dapr)",
    },
  } as const;
}

export type CertSource = 'sentry' | 'self-managed';

export interface InjectorOptions extends CommonOptions {
  port: number;
  listenAddress: string;
  kubeconfig: string;
  /** Whether --kubeconfig was given (otherwise KUBECONFIG/in-cluster/home are tried in Dapr's order). */
  kubeconfigGiven: boolean;
  certSource: CertSource;
  webhookConfigurationName: string;
  selfManagedCaSecret: string;
  /** Control-plane namespace (NAMESPACE). */
  namespace: string;
  trustAnchorsFile: string;
  controlPlaneTrustDomain: string;
  sentryAddress: string;
  /** Token the injector presents to sentry, if any (DAPR_SENTRY_TOKEN_FILE, the projected token, the SA token). */
  sentryTokenFile: string | undefined;
  allowedServiceAccounts: AccountRef[];
  allowedServiceAccountsPrefixNames: string;
  sidecar: SidecarEnvironment;
  /** DNS names and IPs the self-managed serving certificate carries. */
  servingDnsNames: string[];
  servingIpAddresses: string[];
}

export interface OptionsEnvironment {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  fileExists?: (file: string) => boolean;
  readFile?: (file: string) => string | undefined;
}

export function readOptions({ argv, env, fileExists = existsSync, readFile = readIfPresent }: OptionsEnvironment): InjectorOptions {
  const { values, set } = parseFlags(flagSpecs(env), argv, { program: 'injector', dialect: 'pflag', summary: 'tapr sidecar injector (Dapr-compatible)' });

  const common = readCommonOptions(values);
  checkPort(values.port, '--port');

  const sidecarImage = env['SIDECAR_IMAGE'] ?? '';
  if (!sidecarImage) throw new Error('SIDECAR_IMAGE is required: the daprd image to inject, e.g. ghcr.io/dapr/daprd:1.17.0');
  const namespace = env['NAMESPACE'] ?? '';
  if (!namespace) throw new Error('NAMESPACE is required: the control-plane namespace the injector runs in');

  const sentryAddress = env['DAPR_SENTRY_ADDRESS'] ?? '';
  const certSourceText = values['cert-source'];
  if (!['auto', 'sentry', 'self-managed'].includes(certSourceText)) throw new Error(`--cert-source: "${certSourceText}" is not one of auto, sentry, self-managed`);
  const certSource: CertSource = certSourceText === 'auto' ? (sentryAddress ? 'sentry' : 'self-managed') : (certSourceText as CertSource);
  if (certSource === 'sentry' && !sentryAddress) throw new Error('--cert-source sentry needs DAPR_SENTRY_ADDRESS (e.g. dapr-sentry.dapr-system.svc.cluster.local:443)');

  const tokenVolumeText = values['sidecar-token-volume'];
  if (!['auto', 'always', 'never'].includes(tokenVolumeText)) throw new Error(`--sidecar-token-volume: "${tokenVolumeText}" is not one of auto, always, never`);
  const injectorHasToken = fileExists(defaults.sentryTokenFile) || fileExists(defaults.legacyTokenFile);
  const tokenVolume = tokenVolumeText === 'always' || (tokenVolumeText === 'auto' && injectorHasToken);

  const kubeClusterDomain = env['KUBE_CLUSTER_DOMAIN'] || clusterDomainFromResolvConf(readFile('/etc/resolv.conf'));
  const controlPlaneTrustDomain = env['DAPR_CONTROL_PLANE_TRUST_DOMAIN'] || defaults.controlPlaneTrustDomain;
  const service = (name: string, port: number) => `${name}.${namespace}.svc.${kubeClusterDomain}:${port}`;

  const actorsEnabled = truthyDefaultTrue(env['ACTORS_ENABLED'], 'ACTORS_ENABLED');
  const actorsServiceName = env['ACTORS_SERVICE_NAME'] || 'placement';
  let placementAddress: string | undefined;
  let actorsService: string | undefined;
  if (actorsEnabled && actorsServiceName === 'placement') placementAddress = service('dapr-placement-server', 50005);
  else if (actorsEnabled) actorsService = `${actorsServiceName}:${serviceAddress(env['ACTORS_SERVICE_ADDRESS'], 'ACTORS_SERVICE_ADDRESS', namespace, kubeClusterDomain)}`;
  const remindersServiceName = env['REMINDERS_SERVICE_NAME'] ?? '';
  const remindersService =
    remindersServiceName && remindersServiceName !== 'default'
      ? `${remindersServiceName}:${serviceAddress(env['REMINDERS_SERVICE_ADDRESS'], 'REMINDERS_SERVICE_ADDRESS', namespace, kubeClusterDomain)}`
      : undefined;

  const allowedServiceAccountsPrefixNames = env['ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES'] ?? '';
  new ServiceAccountMatcher(allowedServiceAccountsPrefixNames); // validates now, so a typo stops the start
  const extraAccounts = parseAccountList(env['ALLOWED_SERVICE_ACCOUNTS'] ?? '', 'ALLOWED_SERVICE_ACCOUNTS');
  const builtIn = builtInControllerAccounts.map((text) => parseAccountList(text, 'built-in')[0] as AccountRef);

  const sidecar: SidecarEnvironment = {
    image: sidecarImage,
    imagePullPolicy: pullPolicy(env['SIDECAR_IMAGE_PULL_POLICY']),
    controlPlaneNamespace: namespace,
    controlPlaneTrustDomain,
    kubeClusterDomain,
    placementAddress,
    actorsService,
    remindersService,
    schedulerEnabled: values['scheduler-enabled'],
    runAsNonRoot: truthyDefaultTrue(env['SIDECAR_RUN_AS_NON_ROOT'], 'SIDECAR_RUN_AS_NON_ROOT'),
    runAsUser: optionalInt(env['SIDECAR_RUN_AS_USER'], 'SIDECAR_RUN_AS_USER'),
    runAsGroup: optionalInt(env['SIDECAR_RUN_AS_GROUP'], 'SIDECAR_RUN_AS_GROUP'),
    readOnlyRootFilesystem: truthyDefaultTrue(env['SIDECAR_READ_ONLY_ROOT_FILESYSTEM'], 'SIDECAR_READ_ONLY_ROOT_FILESYSTEM'),
    dropAllCapabilities: parseTruthy(env['SIDECAR_DROP_ALL_CAPABILITIES'] ?? '') === true,
    enableK8sDownwardApis: parseTruthy(env['ENABLE_K8S_DOWNWARD_APIS'] ?? '') === true,
    ignoreEntrypointTolerations: tolerations(env['IGNORE_ENTRYPOINT_TOLERATIONS']),
    tokenVolume,
    componentSocketsFolder: env['DAPR_COMPONENT_SOCKETS_FOLDER'] || defaultComponentSocketsFolder,
  };

  const listenAddress = values['listen-address'];
  const serviceName = 'dapr-sidecar-injector';
  const servingDnsNames = [`${serviceName}.${namespace}.svc`, `${serviceName}.${namespace}.svc.${kubeClusterDomain}`, `${serviceName}.${namespace}`, serviceName];
  // A specific listen address is also a name the server can be reached by (clientConfig.url in development).
  const servingIpAddresses = isIP(listenAddress) && listenAddress !== '0.0.0.0' && listenAddress !== '::' ? [listenAddress] : [];
  if (servingIpAddresses.some((ip) => ip === '127.0.0.1' || ip === '::1')) servingDnsNames.push('localhost');

  const sentryTokenFile = env['DAPR_SENTRY_TOKEN_FILE'] || [defaults.sentryTokenFile, defaults.legacyTokenFile].find((file) => fileExists(file));

  return {
    ...common,
    port: values.port,
    listenAddress,
    kubeconfig: values.kubeconfig,
    kubeconfigGiven: set.has('kubeconfig'),
    certSource,
    webhookConfigurationName: values['webhook-configuration-name'],
    selfManagedCaSecret: defaults.selfManagedCaSecret,
    namespace,
    trustAnchorsFile: env['DAPR_TRUST_ANCHORS_FILE'] || defaults.trustAnchorsFile,
    controlPlaneTrustDomain,
    sentryAddress,
    sentryTokenFile,
    allowedServiceAccounts: [...builtIn, ...extraAccounts],
    allowedServiceAccountsPrefixNames,
    sidecar,
    servingDnsNames,
    servingIpAddresses,
  };
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function pullPolicy(text: string | undefined): SidecarEnvironment['imagePullPolicy'] {
  // Dapr: unset → Always; unknown → IfNotPresent.
  if (text === undefined || text === '') return 'Always';
  return text === 'Always' || text === 'Never' || text === 'IfNotPresent' ? text : 'IfNotPresent';
}

function truthyDefaultTrue(text: string | undefined, name: string): boolean {
  if (text === undefined || text === '') return true;
  const value = parseTruthy(text);
  if (value === undefined) throw new Error(`${name}: "${text}" is not true or false`);
  return value;
}

function optionalInt(text: string | undefined, name: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^-?\d+$/.test(text.trim())) throw new Error(`${name}: "${text}" is not an integer`);
  return Number(text);
}

function tolerations(text: string | undefined): TolerationJson[] {
  if (!text) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`IGNORE_ENTRYPOINT_TOLERATIONS is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(parsed) || parsed.some((t) => typeof t !== 'object' || t === null)) {
    throw new Error('IGNORE_ENTRYPOINT_TOLERATIONS must be a JSON array of tolerations, e.g. [{"key":"os","value":"windows","effect":"NoSchedule"}]');
  }
  return parsed as TolerationJson[];
}

/** "name:port" (ACTORS_SERVICE_ADDRESS, REMINDERS_SERVICE_ADDRESS) → "name.<ns>.svc.<domain>:port". */
function serviceAddress(text: string | undefined, variable: string, namespace: string, domain: string): string {
  const [name, portText, ...rest] = (text ?? '').split(':');
  if (!name || !portText || rest.length > 0 || !/^\d+$/.test(portText) || Number(portText) <= 0) {
    throw new Error(`${variable}: "${text ?? ''}" is not of the form <service-name>:<port>`);
  }
  return `${name}.${namespace}.svc.${domain}:${Number(portText)}`;
}

/** Dapr's rule: the first of the sorted resolv.conf search domains, else cluster.local. */
export function clusterDomainFromResolvConf(text: string | undefined): string {
  let domains: string[] = [];
  for (const raw of (text ?? '').split('\n')) {
    const line = raw.split('#', 1)[0] as string;
    const match = /^\s*search\s+(.*)$/.exec(line);
    if (match) domains = (match[1] as string).trim().split(/\s+/).filter(Boolean);
  }
  domains.sort();
  return domains[0] || defaults.kubeClusterDomain;
}
