// SVIDs for tests that need mTLS identities without running sentry: a root and an issuer like sentry's, and
// workload certificates with a SPIFFE URI SAN chained to them.
import { createCa, createIntermediateCa, issueCertificate, type Issued } from './pki.js';
import { formatSpiffeId, type SpiffeId } from '../security/spiffe.js';
import type { Svid } from '../security/svid.js';

export interface TestTrustBundle {
  trustDomain: string;
  root: Issued;
  issuer: Issued;
  /** PEM of the root: what peers trust. */
  rootPem: string;
}

export async function createTestTrustBundle(trustDomain = 'cluster.local'): Promise<TestTrustBundle> {
  const root = await createCa(`${trustDomain} test root`);
  const issuer = await createIntermediateCa(root, `${trustDomain} test issuer`);
  return { trustDomain, root, issuer, rootPem: root.certPem };
}

export async function issueTestSvid(
  bundle: TestTrustBundle,
  id: SpiffeId,
  options: { validityMs?: number; dnsNames?: string[] } = {},
): Promise<Svid> {
  const leaf = await issueCertificate(bundle.issuer, {
    uris: [formatSpiffeId(id)],
    dnsNames: options.dnsNames,
    usage: 'both',
    validityMs: options.validityMs,
  });
  return {
    id,
    certChainPem: leaf.certPem + bundle.issuer.certPem,
    keyPem: leaf.keyPem,
    trustAnchorsPem: bundle.rootPem,
    notBefore: leaf.cert.notBefore,
    notAfter: leaf.cert.notAfter,
  };
}
