// `--cert-source sentry`: the injector's SVID (id dapr-injector; sentry adds the DNS name
// dapr-sidecar-injector.<ns>.svc) serves the webhook, and the trust anchors are the caBundle — as in Dapr.
import { readFile } from 'node:fs/promises';
import type { Logger } from '@tapr/lib';
import { SentrySvidSource } from '@tapr/lib/security/sentryClient';
import type { InjectorOptions } from './options.js';
import { SvidServingCertificates, type ServingCertificateSource } from './servingCertificate.js';

export function sentryServingCertificates(
  options: InjectorOptions,
  trustAnchors: { current(): string; subscribe(listener: (pem: string) => void): () => void },
  logger: Logger,
): { certificates: ServingCertificateSource; svids: SentrySvidSource } {
  const tokenFile = options.sentryTokenFile;
  const svids = new SentrySvidSource({
    sentryAddress: options.sentryAddress,
    trustAnchors: () => trustAnchors.current(),
    trustDomain: options.controlPlaneTrustDomain,
    controlPlaneNamespace: options.namespace,
    id: 'dapr-injector',
    namespace: options.namespace,
    // Control-plane services ask for their own trust domain (apps leave it to their Configuration).
    requestTrustDomain: options.controlPlaneTrustDomain,
    // Dapr: with a token file the KUBERNETES validator, without one sentry's default.
    token: tokenFile ? () => readFile(tokenFile, 'utf8') : undefined,
    validator: tokenFile ? 'KUBERNETES' : undefined,
    logger,
  });
  return { certificates: new SvidServingCertificates(svids, trustAnchors), svids };
}
