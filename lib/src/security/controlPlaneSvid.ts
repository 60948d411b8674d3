// A control-plane service's own identity with --tls-enabled (placement, scheduler): an SVID for
// `dapr-<service>` from sentry, verified against the trust anchors file (spec §1, §11.6), asked for as every
// control-plane service asks (controlPlaneSvidSource). Token and validator follow Dapr's rules: a token from
// DAPR_SENTRY_TOKEN_FILE is for the JWKS validator (KUBERNETES in Kubernetes mode); the projected or legacy
// service-account token is for the KUBERNETES validator; with no token sentry's default validator applies.
// The sentry client (and its X.509 library) loads only when TLS is on.
import { part, type Part } from '../runner.js';
import type { Logger } from '../logger.js';
import type { SvidSource } from './svid.js';
import type { SentryTokenValidator } from './sentryClient.js';
import type { ControlPlaneService } from './spiffe.js';

export interface SvidProvider {
  source: SvidSource;
  /** Parts that keep the SVID and the trust anchors fresh. */
  parts: Part[];
}

/** The options of a control-plane binary that decide how it asks sentry for its SVID. */
export interface SvidRequestOptions {
  trustAnchorsFile: string;
  sentryAddress: string;
  trustDomain: string;
  namespace: string;
  mode: string;
  sentryTokenFile: string | undefined;
  sentryLocalIdentity: string | undefined;
  env: NodeJS.ProcessEnv;
}

export async function sentrySvidProvider(
  service: ControlPlaneService,
  options: SvidRequestOptions,
  logger: Logger,
  signal?: AbortSignal,
): Promise<SvidProvider> {
  const [{ controlPlaneSvidSource }, { TrustAnchorsFile }] = await Promise.all([import('./sentryClient.js'), import('./trustAnchors.js')]);
  const anchors = await TrustAnchorsFile.open({ file: options.trustAnchorsFile, logger: logger.child('trust-anchors'), signal });
  const source = controlPlaneSvidSource({
    service,
    sentryAddress: options.sentryAddress,
    trustAnchors: () => anchors.current(),
    trustDomain: options.trustDomain,
    namespace: options.namespace,
    tokenFile: options.sentryTokenFile,
    validator: tokenValidator(options),
    localIdentity: options.sentryLocalIdentity,
    logger: logger.child('security'),
  });
  return { source, parts: [part('trust-anchors', anchors), part('sentry', source)] };
}

function tokenValidator(options: SvidRequestOptions): SentryTokenValidator | undefined {
  if (!options.sentryTokenFile) return undefined;
  if (options.mode === 'kubernetes') return 'KUBERNETES';
  return options.env['DAPR_SENTRY_TOKEN_FILE'] ? 'JWKS' : undefined;
}
