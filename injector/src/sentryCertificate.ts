// `--cert-source sentry`: the injector's SVID (id dapr-injector; sentry adds the DNS name
// dapr-sidecar-injector.<ns>.svc) serves the webhook, and the trust anchors are the caBundle — as in Dapr.
import { readFile } from 'node:fs/promises';
import type { Logger, SvidSource } from '@tapr/lib';
import type { InjectorOptions } from './options.js';
import { SvidServingCertificates, type ServingCertificateSource } from './servingCertificate.js';

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

// The sentry client lives in lib (written with sentry); it is loaded by name so this workspace builds before it
// lands. Replace with a static import of `SentrySvidSource` from '@tapr/lib' once lib exports it.
const sentryClientModule = '@tapr/lib/security/sentryClient';

export async function sentryServingCertificates(
  options: InjectorOptions,
  trustAnchors: { current(): string; subscribe(listener: (pem: string) => void): () => void },
  logger: Logger,
): Promise<{ certificates: ServingCertificateSource; svids: { run(signal: AbortSignal): Promise<void> } }> {
  let SentrySvidSource: SentrySvidSourceClass;
  try {
    ({ SentrySvidSource } = (await import(sentryClientModule)) as { SentrySvidSource: SentrySvidSourceClass });
  } catch (error) {
    throw new Error('--cert-source sentry: this build has no sentry client (lib/src/security/sentryClient.ts); use --cert-source self-managed', {
      cause: error,
    });
  }
  const tokenFile = options.sentryTokenFile;
  const svids = new SentrySvidSource({
    sentryAddress: options.sentryAddress,
    trustAnchors: () => trustAnchors.current(),
    trustDomain: options.controlPlaneTrustDomain,
    controlPlaneNamespace: options.namespace,
    id: 'dapr-injector',
    namespace: options.namespace,
    token: tokenFile ? () => readFile(tokenFile, 'utf8') : undefined,
    validator: tokenFile ? 'KUBERNETES' : 'INSECURE',
    logger,
  });
  return { certificates: new SvidServingCertificates(svids, trustAnchors), svids };
}
