// SPIFFE identities as Dapr uses them: `spiffe://<trust-domain>/ns/<namespace>/<app-id>` — exactly three path
// segments (spec §1). Control-plane services are `dapr-<service>` in the control-plane namespace.

export interface SpiffeId {
  trustDomain: string;
  namespace: string;
  appId: string;
}

export const controlPlaneServices = ['sentry', 'operator', 'placement', 'injector', 'scheduler'] as const;
export type ControlPlaneService = (typeof controlPlaneServices)[number];

// A SPIFFE trust domain: lowercase letters, digits, dots, dashes and underscores (the SPIFFE ID spec).
const trustDomainPattern = /^[a-z0-9._-]+$/;
const segmentPattern = /^[A-Za-z0-9._-]+$/;

export function isValidTrustDomain(value: string): boolean {
  return value.length > 0 && value.length <= 255 && trustDomainPattern.test(value);
}

export function formatSpiffeId(id: SpiffeId): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/${id.appId}`;
}

/** Parses a Dapr SPIFFE ID; returns undefined when the text is not one (wrong scheme, shape or characters). */
export function parseSpiffeId(text: string): SpiffeId | undefined {
  if (!text.startsWith('spiffe://')) return undefined;
  const [trustDomain, ns, namespace, appId, ...extra] = text.slice('spiffe://'.length).split('/');
  if (extra.length > 0 || ns !== 'ns' || !trustDomain || !namespace || !appId) return undefined;
  if (!isValidTrustDomain(trustDomain) || !segmentPattern.test(namespace) || !segmentPattern.test(appId)) return undefined;
  return { trustDomain, namespace, appId };
}

export function controlPlaneId(service: ControlPlaneService, trustDomain: string, namespace: string): SpiffeId {
  return { trustDomain, namespace, appId: `dapr-${service}` };
}

/** The SPIFFE ID in a certificate's subjectAltName text as Node prints it (`URI:spiffe://…, DNS:…`). */
export function spiffeIdFromSubjectAltName(subjectAltName: string | undefined): SpiffeId | undefined {
  if (!subjectAltName) return undefined;
  const uris = subjectAltName
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('URI:spiffe://'))
    .map((entry) => entry.slice('URI:'.length));
  // An SVID carries exactly one SPIFFE URI; more than one is ambiguous and is refused.
  return uris.length === 1 ? parseSpiffeId(uris[0]!) : undefined;
}
