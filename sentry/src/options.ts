// Sentry's flags and environment — the only module that reads argv and process.env. Flags are Dapr's sentry flags
// (spec §11.2, §11.3, pflag spellings); the tapr-only ones (lifetimes of generated CAs, the trust bundle poll
// interval, signing workers) are marked "tapr:" in the help. JWT issuing and the OIDC server are accepted as flags
// but not implemented: enabling them stops sentry with a clear error rather than running without them.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { checkPort, commonFlagSpecs, isValidTrustDomain, kubeconfigFlagSpec, parseFlags, readCommonOptions, type CommonOptions } from '@tapr/lib';

export const defaults = {
  port: 50001,
  issuerCredentials: '/var/run/secrets/dapr.io/credentials',
  trustDomain: 'localhost',
  config: 'daprsystem',
  caTtl: 365 * 24 * 3_600_000,
  pollInterval: 10_000,
} as const;

function flagSpecs(env: NodeJS.ProcessEnv) {
  return {
    ...commonFlagSpecs,
    config: { type: 'string', default: defaults.config, help: 'Path to config file, or name of a configuration object' },
    'issuer-credentials': { type: 'string', default: defaults.issuerCredentials, help: 'Path to the credentials directory holding the issuer data' },
    'issuer-ca-filename': { type: 'string', default: 'ca.crt', help: 'Certificate Authority certificate filename' },
    'issuer-certificate-filename': { type: 'string', default: 'issuer.crt', help: 'Issuer certificate filename' },
    'issuer-key-filename': { type: 'string', default: 'issuer.key', help: 'Issuer private key filename' },
    'trust-domain': { type: 'string', default: defaults.trustDomain, help: 'The CA trust domain' },
    port: { type: 'int', default: defaults.port, help: 'The port for the sentry server to listen on' },
    'listen-address': { type: 'string', default: '', help: 'The listen address for the sentry server ("" = all interfaces)' },
    mode: { type: 'string', default: 'standalone', help: 'Runtime mode for Dapr Sentry: kubernetes or standalone' },
    kubeconfig: { ...kubeconfigFlagSpec('home', env), help: 'Kubernetes mode only. Absolute path to the kubeconfig file' },
    'jwt-enabled': { type: 'bool', default: false, help: 'Enable JWT token issuance by Sentry (not supported by tapr yet)' },
    'jwt-key-filename': { type: 'string', default: 'jwt.key', help: 'JWT signing key filename' },
    'jwks-filename': { type: 'string', default: 'jwks.json', help: 'JWKS (JSON Web Key Set) filename' },
    'jwt-issuer': { type: 'string', default: '', help: 'Issuer value for JWT tokens' },
    'jwt-signing-algorithm': { type: 'string', default: 'RS256', help: 'Algorithm for JWT signature' },
    'jwt-key-id': { type: 'string', default: '', help: 'Key ID (kid) used for JWT signing' },
    'jwt-ttl': { type: 'duration', default: 24 * 3_600_000, help: 'Time to live for JWT tokens' },
    'oidc-enabled': { type: 'bool', default: false, help: 'Enable the OIDC discovery server (not supported by tapr yet)' },
    'oidc-server-listen-port': { type: 'int', default: 9080, help: 'The port for the OIDC HTTP server' },
    'oidc-server-listen-address': { type: 'string', default: 'localhost', help: 'The address for the OIDC HTTP server' },
    'oidc-server-tls-enabled': { type: 'bool', default: true, help: 'Serve the OIDC HTTP server over TLS' },
    'oidc-server-tls-cert-file': { type: 'string', default: '', help: 'TLS certificate file for the OIDC HTTP server' },
    'oidc-server-tls-key-file': { type: 'string', default: '', help: 'TLS key file for the OIDC HTTP server' },
    'oidc-jwks-uri': { type: 'string', default: '', help: 'Custom URI where the JWKS can be accessed externally' },
    'oidc-path-prefix': { type: 'string', default: '', help: 'Path prefix to add to all OIDC HTTP endpoints' },
    'oidc-allowed-hosts': { type: 'stringSlice', default: [] as string[], help: 'Allowed hostnames for the OIDC HTTP server' },
    'root-cert-ttl': { type: 'duration', default: defaults.caTtl, help: 'tapr: lifetime of a root certificate sentry generates' },
    'issuer-cert-ttl': { type: 'duration', default: defaults.caTtl, help: 'tapr: lifetime of an issuer certificate sentry generates' },
    'trust-bundle-poll-interval': { type: 'duration', default: defaults.pollInterval, help: 'tapr: how often the stored trust bundle is re-read' },
    'signing-workers': { type: 'int', default: -1, help: 'tapr: worker threads that verify CSRs and sign (-1: one per CPU, at most 4; 0: sign on the main thread); they run while certificates are requested and stop after 30s without' },
  } as const;
}

export type Mode = 'kubernetes' | 'standalone';

export interface SentryOptions extends CommonOptions {
  mode: Mode;
  /** Configuration resource name (kubernetes) or YAML file path (standalone; "" = defaults). */
  config: string;
  trustDomain: string;
  /** Sentry's (control-plane) namespace: NAMESPACE, default `default`. */
  namespace: string;
  port: number;
  listenAddress: string;
  kubeconfig: string;
  kubeconfigGiven: boolean;
  /** Trust bundle files (standalone) or their base names as Secret keys (kubernetes). */
  issuerFiles: { trustAnchors: string; issuerChain: string; issuerKey: string };
  issuerCredentials: string;
  rootCertTtlMs: number;
  issuerCertTtlMs: number;
  pollIntervalMs: number;
  signingWorkers: number;
  /** For Kubernetes Events: this pod. */
  podName: string;
  env: NodeJS.ProcessEnv;
}

export interface OptionsEnvironment {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cpus?: number;
}

export function readOptions({ argv, env, cpus = availableParallelism() }: OptionsEnvironment): SentryOptions {
  const { values, set } = parseFlags(flagSpecs(env), argv, { program: 'sentry', dialect: 'pflag', summary: 'tapr sentry: the Dapr-compatible certificate authority' });

  const common = readCommonOptions(values);
  const mode = values.mode;
  if (mode !== 'kubernetes' && mode !== 'standalone') throw new Error(`--mode: "${mode}" is not one of kubernetes, standalone`);
  const namespace = env['NAMESPACE'] ?? 'default';
  if (mode === 'kubernetes' && namespace === '') throw new Error('NAMESPACE must not be empty in kubernetes mode: it names the namespace sentry runs in');
  const trustDomain = values['trust-domain'];
  if (!isValidTrustDomain(trustDomain)) throw new Error(`--trust-domain: "${trustDomain}" is not a valid SPIFFE trust domain (lowercase letters, digits, ".", "-", "_")`);
  checkPort(values.port, '--port');
  if (values['jwt-enabled']) throw new Error('--jwt-enabled: JWT issuing is not supported by tapr sentry yet');
  if (values['oidc-enabled']) throw new Error('--oidc-enabled: the OIDC server is not supported by tapr sentry yet');
  const positive = (ms: number, flag: string) => {
    if (!(ms > 0)) throw new Error(`${flag} must be a positive duration`);
    return ms;
  };
  const workers = values['signing-workers'];
  if (workers < -1) throw new Error('--signing-workers must be -1 (automatic), 0 or more');

  const credentials = values['issuer-credentials'];
  const inDir = (name: string) => (path.isAbsolute(name) ? name : path.join(credentials, name));
  return {
    ...common,
    mode,
    config: values.config,
    trustDomain,
    namespace,
    port: values.port,
    listenAddress: values['listen-address'],
    kubeconfig: values.kubeconfig,
    kubeconfigGiven: set.has('kubeconfig'),
    issuerFiles: {
      trustAnchors: inDir(values['issuer-ca-filename']),
      issuerChain: inDir(values['issuer-certificate-filename']),
      issuerKey: inDir(values['issuer-key-filename']),
    },
    issuerCredentials: credentials,
    rootCertTtlMs: positive(values['root-cert-ttl'], '--root-cert-ttl'),
    issuerCertTtlMs: positive(values['issuer-cert-ttl'], '--issuer-cert-ttl'),
    pollIntervalMs: positive(values['trust-bundle-poll-interval'], '--trust-bundle-poll-interval'),
    signingWorkers: workers === -1 ? (cpus > 1 ? Math.min(cpus, 4) : 0) : workers,
    podName: env['POD_NAME'] ?? env['HOSTNAME'] ?? 'dapr-sentry',
    env,
  };
}
