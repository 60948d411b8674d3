// The placement server's own identity with --tls-enabled: an SVID for `dapr-placement` from sentry, verified
// against the trust anchors file (spec §1, §11.6), asked for as every control-plane service asks
// (lib's controlPlaneSvidSource). Token and validator follow Dapr's rules: a token from DAPR_SENTRY_TOKEN_FILE is
// for the JWKS validator (KUBERNETES in Kubernetes mode); the projected or legacy service-account token is for the
// KUBERNETES validator; with no token sentry's default validator applies.
// The sentry client (and its X.509 library) loads only when TLS is on.
import { part, type Part } from '@tapr/lib/runner';
import type { Logger } from '@tapr/lib/logger';
import type { SvidSource } from '@tapr/lib/security/svid';
import type { SentryTokenValidator } from '@tapr/lib/security/sentryClient';
import type { PlacementOptions } from './options.js';

export interface SvidProvider {
  source: SvidSource;
  /** Parts that keep the SVID and the trust anchors fresh. */
  parts: Part[];
}

export async function sentrySvidProvider(options: PlacementOptions, logger: Logger, signal?: AbortSignal): Promise<SvidProvider> {
  const [{ controlPlaneSvidSource }, { TrustAnchorsFile }] = await Promise.all([
    import('@tapr/lib/security/sentryClient'),
    import('@tapr/lib/security/trustAnchors'),
  ]);
  const anchors = await TrustAnchorsFile.open({ file: options.trustAnchorsFile, logger: logger.child('trust-anchors'), signal });
  const source = controlPlaneSvidSource({
    service: 'placement',
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

function tokenValidator(options: PlacementOptions): SentryTokenValidator | undefined {
  if (!options.sentryTokenFile) return undefined;
  if (options.mode === 'kubernetes') return 'KUBERNETES';
  return options.env['DAPR_SENTRY_TOKEN_FILE'] ? 'JWKS' : undefined;
}
