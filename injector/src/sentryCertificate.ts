// `--cert-source sentry`: the injector's SVID (id dapr-injector; sentry adds the DNS name
// dapr-sidecar-injector.<ns>.svc) serves the webhook, and the trust anchors are the caBundle — as in Dapr.
import type { Logger } from '@tapr/lib';
import { controlPlaneSvidSource, type SentrySvidSource } from '@tapr/lib/security/sentryClient';
import type { InjectorOptions } from './options.js';
import { SvidServingCertificates, type ServingCertificateSource } from './servingCertificate.js';

export function sentryServingCertificates(
  options: InjectorOptions,
  trustAnchors: { current(): string; subscribe(listener: (pem: string) => void): () => void },
  logger: Logger,
): { certificates: ServingCertificateSource; svids: SentrySvidSource } {
  const svids = controlPlaneSvidSource({
    service: 'injector',
    sentryAddress: options.sentryAddress,
    trustAnchors: () => trustAnchors.current(),
    trustDomain: options.controlPlaneTrustDomain,
    namespace: options.namespace,
    tokenFile: options.sentryTokenFile,
    // Dapr: with a token file the KUBERNETES validator, without one sentry's default.
    validator: options.sentryTokenFile ? 'KUBERNETES' : undefined,
    logger,
  });
  return { certificates: new SvidServingCertificates(svids, trustAnchors), svids };
}
