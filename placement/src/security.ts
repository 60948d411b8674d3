// The placement server's own identity with --tls-enabled: an SVID for `dapr-placement` from sentry, verified
// against the trust anchors file (spec §1, §11.6).
import { readFile } from 'node:fs/promises';
import { TrustAnchorsFile, part, type Logger, type Part, type SvidSource } from '@tapr/lib';
import type { PlacementOptions } from './options.js';

export interface SvidProvider {
  source: SvidSource;
  /** Parts that keep the SVID and the trust anchors fresh. */
  parts: Part[];
}

interface SentrySvidSourceOptions {
  sentryAddress: string;
  trustAnchors: () => string;
  trustDomain: string;
  controlPlaneNamespace: string;
  id: string;
  namespace: string;
  token?: () => Promise<string> | string;
  validator?: 'KUBERNETES' | 'INSECURE' | 'JWKS';
  logger: Logger;
}
type SentrySvidSourceClass = new (options: SentrySvidSourceOptions) => SvidSource & { run(signal: AbortSignal): Promise<void> };

// The sentry client lives in lib (written with sentry) and is loaded by name so this workspace builds before it
// lands. Replace with a static import of `SentrySvidSource` from '@tapr/lib' once lib exports it.
const sentryClientModule = '@tapr/lib/security/sentryClient';

export async function sentrySvidProvider(options: PlacementOptions, logger: Logger): Promise<SvidProvider> {
  let SentrySvidSource: SentrySvidSourceClass;
  try {
    ({ SentrySvidSource } = (await import(sentryClientModule)) as { SentrySvidSource: SentrySvidSourceClass });
  } catch (error) {
    throw new Error('--tls-enabled: this build has no sentry client (lib/src/security/sentryClient.ts)', { cause: error });
  }
  const anchors = new TrustAnchorsFile({ file: options.trustAnchorsFile, logger: logger.child('trust-anchors') });
  const tokenFile = options.sentryTokenFile;
  const source = new SentrySvidSource({
    sentryAddress: options.sentryAddress,
    trustAnchors: () => anchors.current(),
    trustDomain: options.trustDomain,
    controlPlaneNamespace: options.namespace,
    id: options.sentryLocalIdentity ?? 'dapr-placement',
    namespace: options.namespace,
    token: tokenFile ? async () => (await readFile(tokenFile, 'utf8')).trim() : undefined,
    validator: options.mode === 'kubernetes' ? 'KUBERNETES' : 'INSECURE',
    logger: logger.child('security'),
  });
  return { source, parts: [part('trust-anchors', anchors), part('sentry', source)] };
}
