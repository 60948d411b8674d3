// The trust bundle: trust anchors (roots), the issuer chain and key sentry signs with, and — for a root sentry
// manages itself — the root key and rotation state. Verification follows Dapr's rules for bring-your-own bundles
// (roots self-signed, issuer is a CA, key matches, chain verifies to a root) and adds the checks for tapr's
// rotation keys. Time is not checked here: expiry is a state the authority acts on, not a parse error.
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { decodeCertificates, decodePemBlocks, encodeCertificates } from '@tapr/lib/security/pem';
import { certificateParts } from '../x509/certificateParts.js';
import { Tag, expectTlv } from '@tapr/lib/security/der';

/** What is stored (Secret data / files), as PEM text. The first three are Dapr's; the rest are tapr's. */
export interface BundleMaterial {
  /** `ca.crt`: the trust anchors (one root, two during a root rotation). */
  trustAnchors: string;
  /** `issuer.crt`: the issuer certificate (and intermediates), without the root. */
  issuerChain: string;
  /** `issuer.key`: the issuer's private key, PKCS#8. */
  issuerKey: string;
  /** `ca.key`: the key of the root that signed the issuer — present only when sentry manages the root. */
  rootKey?: string;
  /** `next-ca.key`: during a root rotation, the key of the new root (already among the trust anchors). */
  nextRootKey?: string;
  /** `previous-ca.crt`: roots being retired: still published until no certificate chaining to them is valid. */
  previousRoots?: string;
}

export class BundleError extends Error {}

export interface TrustBundle {
  material: BundleMaterial;
  anchors: X509Certificate[];
  /** The issuer first, then any intermediates; never the root. */
  issuerChain: X509Certificate[];
  issuerKey: KeyObject;
  /** The anchor the issuer chain verifies to. */
  activeRoot: X509Certificate;
  /** Present when sentry manages the root (it holds `ca.key`). */
  rootKey?: KeyObject;
  nextRoot?: { cert: X509Certificate; key: KeyObject };
  previousRoots: X509Certificate[];
}

export const isManaged = (bundle: TrustBundle): boolean => bundle.rootKey !== undefined;

export function notBefore(cert: X509Certificate): Date {
  return new Date(cert.validFrom);
}
export function notAfter(cert: X509Certificate): Date {
  return new Date(cert.validTo);
}

/** Parses and verifies stored material; throws BundleError naming the first problem. */
export function verifyTrustBundle(material: BundleMaterial): TrustBundle {
  const anchors = certificates(material.trustAnchors, 'trust anchors (ca.crt)');
  anchors.forEach((root, index) => {
    if (!selfSigned(root)) throw new BundleError(`trust anchor #${index + 1} (${describe(root)}) is not self-signed`);
    if (!root.ca) throw new BundleError(`trust anchor #${index + 1} (${describe(root)}) is not a CA certificate`);
  });

  let issuerChain = certificates(material.issuerChain, 'issuer chain (issuer.crt)');
  const last = issuerChain[issuerChain.length - 1] as X509Certificate;
  // A root appended to the issuer chain is dropped, as Dapr does: the root travels in the trust anchors.
  if (issuerChain.length > 1 && selfSigned(last)) issuerChain = issuerChain.slice(0, -1);
  const issuer = issuerChain[0] as X509Certificate;
  if (!issuer.ca || !canSignCertificates(issuer)) {
    throw new BundleError(`issuer certificate (${describe(issuer)}) is not valid for signing: it must be a CA with the certificate-sign key usage`);
  }

  const issuerKey = privateKey(material.issuerKey, 'issuer key (issuer.key)');
  if (!sameKey(issuerKey, issuer.publicKey)) throw new BundleError('issuer key does not match issuer certificate');

  for (let i = 0; i + 1 < issuerChain.length; i++) {
    const child = issuerChain[i] as X509Certificate;
    const parent = issuerChain[i + 1] as X509Certificate;
    if (!issuedBy(child, parent)) throw new BundleError(`issuer chain is broken: ${describe(child)} is not signed by ${describe(parent)}`);
  }
  const top = issuerChain[issuerChain.length - 1] as X509Certificate;
  const activeRoot = anchors.find((root) => issuedBy(top, root));
  if (!activeRoot) throw new BundleError(`issuer chain does not belong to the trust anchors: no root signed ${describe(top)}`);

  let rootKey: KeyObject | undefined;
  if (material.rootKey) {
    rootKey = privateKey(material.rootKey, 'root key (ca.key)');
    if (!sameKey(rootKey, activeRoot.publicKey)) throw new BundleError('root key (ca.key) does not belong to the root that signed the issuer');
  }
  let nextRoot: TrustBundle['nextRoot'];
  if (material.nextRootKey) {
    if (!rootKey) throw new BundleError('next-ca.key is present without ca.key: a root rotation needs a managed root');
    const key = privateKey(material.nextRootKey, 'next root key (next-ca.key)');
    const cert = anchors.find((root) => root !== activeRoot && sameKey(key, root.publicKey));
    if (!cert) throw new BundleError('next root key (next-ca.key) belongs to none of the other trust anchors');
    nextRoot = { cert, key };
  }
  const previousRoots = material.previousRoots ? certificates(material.previousRoots, 'previous roots (previous-ca.crt)') : [];
  for (const previous of previousRoots) {
    if (!anchors.some((root) => root.raw.equals(previous.raw))) throw new BundleError(`previous root ${describe(previous)} is not among the trust anchors`);
    if (previous.raw.equals(activeRoot.raw)) throw new BundleError('the root that signed the issuer cannot be listed as a previous root');
  }

  return {
    // Re-encoded: comments and stray text in the stored PEM never reach clients.
    material: {
      ...material,
      trustAnchors: encodeCertificates(anchors.map((c) => c.raw)),
      issuerChain: encodeCertificates(issuerChain.map((c) => c.raw)),
    },
    anchors,
    issuerChain,
    issuerKey,
    activeRoot,
    rootKey,
    nextRoot,
    previousRoots,
  };
}

function certificates(pem: string, what: string): X509Certificate[] {
  let ders: Buffer[];
  try {
    ders = decodeCertificates(pem, what);
  } catch (error) {
    throw new BundleError(`failed to decode ${what}: ${(error as Error).message}`, { cause: error });
  }
  return ders.map((der, index) => {
    try {
      return new X509Certificate(der);
    } catch (error) {
      throw new BundleError(`failed to parse certificate #${index + 1} of ${what}: ${(error as Error).message}`, { cause: error });
    }
  });
}

function privateKey(pem: string, what: string): KeyObject {
  const blocks = (() => {
    try {
      return decodePemBlocks(pem);
    } catch (error) {
      throw new BundleError(`failed to decode ${what}: ${(error as Error).message}`, { cause: error });
    }
  })();
  const block = blocks.find((b) => b.type.endsWith('PRIVATE KEY'));
  if (!block) throw new BundleError(`${what} holds no PEM private key`);
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new BundleError(`failed to parse ${what}: ${(error as Error).message}`, { cause: error });
  }
}

function sameKey(privateOrPublic: KeyObject, publicKey: KeyObject): boolean {
  const spki = (key: KeyObject) => (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'der', type: 'spki' });
  return spki(privateOrPublic).equals(spki(publicKey));
}

function selfSigned(cert: X509Certificate): boolean {
  return issuedBy(cert, cert);
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

/** KeyUsage absent (any use) or with keyCertSign (bit 5). */
function canSignCertificates(cert: X509Certificate): boolean {
  const usage = certificateParts(cert.raw).extensions.get('2.5.29.15');
  if (!usage) return true;
  const bits = expectTlv(usage.value, 0, Tag.bitString, usage.value.length, 'KeyUsage');
  const first = usage.value[bits.contentStart + 1] ?? 0;
  return (first & 0x04) !== 0;
}

export function describe(cert: X509Certificate): string {
  return `subject "${cert.subject?.replace(/\n/g, ', ') ?? ''}", serial ${cert.serialNumber}`;
}

/** The bundle material as Secret data / files: key → PEM text (absent optional keys omitted). */
export interface BundleFileNames {
  trustAnchors: string;
  issuerChain: string;
  issuerKey: string;
}

export const taprFileNames = { rootKey: 'ca.key', nextRootKey: 'next-ca.key', previousRoots: 'previous-ca.crt' } as const;

export function materialToEntries(material: BundleMaterial, names: BundleFileNames): Record<string, string> {
  const entries: Record<string, string> = {
    [names.trustAnchors]: material.trustAnchors,
    [names.issuerChain]: material.issuerChain,
    [names.issuerKey]: material.issuerKey,
  };
  if (material.rootKey) entries[taprFileNames.rootKey] = material.rootKey;
  if (material.nextRootKey) entries[taprFileNames.nextRootKey] = material.nextRootKey;
  if (material.previousRoots) entries[taprFileNames.previousRoots] = material.previousRoots;
  return entries;
}

/** Which of the three Dapr entries are present (non-empty). */
export function entriesToMaterial(entries: Record<string, string | undefined>, names: BundleFileNames): { material?: BundleMaterial; missing: string[]; present: string[] } {
  const get = (key: string) => {
    const value = entries[key];
    return value && value.trim() !== '' ? value : undefined;
  };
  const required = [names.trustAnchors, names.issuerChain, names.issuerKey];
  const missing = required.filter((key) => !get(key));
  const present = required.filter((key) => get(key));
  if (missing.length > 0) return { missing, present };
  return {
    missing,
    present,
    material: {
      trustAnchors: get(names.trustAnchors) as string,
      issuerChain: get(names.issuerChain) as string,
      issuerKey: get(names.issuerKey) as string,
      rootKey: get(taprFileNames.rootKey),
      nextRootKey: get(taprFileNames.nextRootKey),
      previousRoots: get(taprFileNames.previousRoots),
    },
  };
}
