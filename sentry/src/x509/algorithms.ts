// The key and signature algorithms sentry accepts in CSRs and can sign with, and the fast way to turn a
// SubjectPublicKeyInfo into a Node KeyObject. This import runs once per request and costs about as much as the
// signature check, so the route matters. Measured in Node 20.20 (OpenSSL 3.0), P-256, one thread, import then
// verify: DER through OpenSSL's decoder framework ~112 + ~64 µs; JWK ~67 + ~86 µs (the key is a legacy EC_KEY that
// verify converts again); WebCrypto `raw` ~57 + ~73 µs, the cheapest in total. Every route validates the point
// fully (the raw one through WebCrypto's public-key check, a multiplication by the group order); no public API
// skips it. RSA and Ed25519 keys come in cheaply as JWK.
import { KeyObject, createPublicKey, webcrypto, type JsonWebKey } from 'node:crypto';
import { DerError, Tag, decodeOid, encodeOid, expectTlv, readTlv, sequence, tlv, unsignedIntegerContent } from '@tapr/lib/security/der';

export type Hash = 'sha256' | 'sha384' | 'sha512';
export type KeyKind = 'ec' | 'rsa' | 'ed25519';

export interface SignatureAlgorithm {
  name: string;
  oid: string;
  keyKind: KeyKind;
  /** Digest for crypto.sign/verify; null for Ed25519 (the algorithm hashes by itself). */
  hash: Hash | null;
  /** The AlgorithmIdentifier as it appears in a certificate. */
  identifier: Buffer;
}

function algorithm(name: string, oid: string, keyKind: KeyKind, hash: Hash | null): SignatureAlgorithm {
  // RFC 5758/8410: ECDSA and Ed25519 identifiers have no parameters; RSA PKCS#1 v1.5 ones carry NULL.
  const identifier = keyKind === 'rsa' ? sequence(encodeOid(oid), Uint8Array.of(Tag.null, 0)) : sequence(encodeOid(oid));
  return { name, oid, keyKind, hash, identifier };
}

export const signatureAlgorithms: readonly SignatureAlgorithm[] = [
  algorithm('ECDSA-SHA256', '1.2.840.10045.4.3.2', 'ec', 'sha256'),
  algorithm('ECDSA-SHA384', '1.2.840.10045.4.3.3', 'ec', 'sha384'),
  algorithm('ECDSA-SHA512', '1.2.840.10045.4.3.4', 'ec', 'sha512'),
  algorithm('SHA256-RSA', '1.2.840.113549.1.1.11', 'rsa', 'sha256'),
  algorithm('SHA384-RSA', '1.2.840.113549.1.1.12', 'rsa', 'sha384'),
  algorithm('SHA512-RSA', '1.2.840.113549.1.1.13', 'rsa', 'sha512'),
  algorithm('Ed25519', '1.3.101.112', 'ed25519', null),
];

const byOid = new Map(signatureAlgorithms.map((a) => [a.oid, a]));
const weakOids: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'SHA1-RSA',
  '1.2.840.10045.4.1': 'ECDSA-SHA1',
  '1.2.840.113549.1.1.4': 'MD5-RSA',
};

/** The signature algorithm named by an AlgorithmIdentifier's OID; throws for unknown or weak ones. */
export function signatureAlgorithmByOid(oid: string): SignatureAlgorithm {
  const found = byOid.get(oid);
  if (found) return found;
  if (weakOids[oid]) throw new UnsupportedAlgorithmError(`signature algorithm ${weakOids[oid]} is too weak; use SHA-256 or better`);
  throw new UnsupportedAlgorithmError(`unsupported signature algorithm ${oid} (supported: ${signatureAlgorithms.map((a) => a.name).join(', ')})`);
}

export class UnsupportedAlgorithmError extends Error {}

const curves: Record<string, { name: 'P-256' | 'P-384' | 'P-521'; coordinateBytes: number }> = {
  '1.2.840.10045.3.1.7': { name: 'P-256', coordinateBytes: 32 },
  '1.3.132.0.34': { name: 'P-384', coordinateBytes: 48 },
  '1.3.132.0.35': { name: 'P-521', coordinateBytes: 66 },
};

const oidEcPublicKey = '1.2.840.10045.2.1';
const oidRsaEncryption = '1.2.840.113549.1.1.1';
const oidEd25519 = '1.3.101.112';

export const minimumRsaBits = 2048;
export const maximumRsaBits = 8192;

export interface PublicKeyInfo {
  kind: KeyKind;
  /** P-256/P-384/P-521 for EC keys. */
  curve?: string;
  /** Modulus size for RSA keys. */
  bits?: number;
  /** The complete SubjectPublicKeyInfo DER, copied into the certificate as is. */
  der: Buffer;
  /** EC keys: the encoded point (uncompressed or compressed), imported as WebCrypto `raw`. */
  point?: Buffer;
  /** RSA and Ed25519 keys: a JWK for the fast import. */
  jwk?: JsonWebKey;
}

/** Parses a SubjectPublicKeyInfo (the whole TLV in `der`) and checks the key is one sentry accepts. */
export function parsePublicKeyInfo(der: Buffer): PublicKeyInfo {
  const spki = expectTlv(der, 0, Tag.sequence, der.length, 'SubjectPublicKeyInfo');
  const algorithmId = expectTlv(der, spki.contentStart, Tag.sequence, spki.end, 'public key AlgorithmIdentifier');
  const oidTlv = expectTlv(der, algorithmId.contentStart, Tag.oid, algorithmId.end, 'public key algorithm OID');
  const oid = decodeOid(der.subarray(oidTlv.contentStart, oidTlv.end));
  const bits = expectTlv(der, algorithmId.end, Tag.bitString, spki.end, 'public key BIT STRING');
  if (bits.end !== spki.end) throw new DerError('trailing data after the public key BIT STRING');
  if (der[bits.contentStart] !== 0) throw new DerError('public key BIT STRING has unused bits');
  const key = der.subarray(bits.contentStart + 1, bits.end);

  if (oid === oidEcPublicKey) {
    const curveTlv = readTlv(der, oidTlv.end, algorithmId.end, 'EC curve parameters');
    const curve = curveTlv.tag === Tag.oid ? curves[decodeOid(der.subarray(curveTlv.contentStart, curveTlv.end))] : undefined;
    if (!curve) throw new UnsupportedAlgorithmError('unsupported elliptic curve (supported: P-256, P-384, P-521)');
    const size = curve.coordinateBytes;
    const uncompressed = key[0] === 0x04 && key.length === 1 + 2 * size;
    const compressed = (key[0] === 0x02 || key[0] === 0x03) && key.length === 1 + size;
    if (uncompressed || compressed) return { kind: 'ec', curve: curve.name, der, point: key };
    throw new DerError(`malformed ${curve.name} public key point`);
  }
  if (oid === oidRsaEncryption) {
    const rsa = expectTlv(key, 0, Tag.sequence, key.length, 'RSAPublicKey');
    const n = expectTlv(key, rsa.contentStart, Tag.integer, rsa.end, 'RSA modulus');
    const e = expectTlv(key, n.end, Tag.integer, rsa.end, 'RSA exponent');
    const modulus = unsignedIntegerContent(key.subarray(n.contentStart, n.end));
    const exponent = unsignedIntegerContent(key.subarray(e.contentStart, e.end));
    const size = modulus.length * 8 - Math.clz32(modulus[0] as number) + 24;
    if (size < minimumRsaBits || size > maximumRsaBits) {
      throw new UnsupportedAlgorithmError(`RSA key of ${size} bits is not accepted (${minimumRsaBits}–${maximumRsaBits} bits)`);
    }
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
    return { kind: 'rsa', bits: size, der, jwk: { kty: 'RSA', n: b64(modulus), e: b64(exponent) } };
  }
  if (oid === oidEd25519) {
    if (key.length !== 32) throw new DerError('malformed Ed25519 public key');
    return { kind: 'ed25519', der, jwk: { kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') } };
  }
  throw new UnsupportedAlgorithmError(`unsupported public key algorithm ${oid} (supported: ECDSA P-256/P-384/P-521, RSA, Ed25519)`);
}

/**
 * Imports the key the fast way for its kind (see the top of this file): EC points as WebCrypto `raw` (which is why
 * this is async: the work is done by the time the promise settles), RSA and Ed25519 as JWK, anything else from DER.
 */
export async function importPublicKey(info: PublicKeyInfo): Promise<KeyObject> {
  if (info.point && info.curve) {
    const key = await webcrypto.subtle.importKey('raw', info.point, { name: 'ECDSA', namedCurve: info.curve }, false, ['verify']);
    return KeyObject.from(key);
  }
  if (info.jwk) return createPublicKey({ key: info.jwk, format: 'jwk' });
  return createPublicKey({ key: info.der, format: 'der', type: 'spki' });
}

/** The algorithm a CA signs with for a given issuer key (Go's x509 choice: hash sized to the curve, SHA-256 for RSA). */
export function signingAlgorithmFor(key: KeyObject): SignatureAlgorithm {
  const type = key.asymmetricKeyType;
  const pick = (oid: string) => byOid.get(oid) as SignatureAlgorithm;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return pick('1.2.840.10045.4.3.2');
    if (curve === 'secp384r1') return pick('1.2.840.10045.4.3.3');
    if (curve === 'secp521r1') return pick('1.2.840.10045.4.3.4');
    throw new UnsupportedAlgorithmError(`issuer key on curve ${curve ?? 'unknown'} is not supported`);
  }
  if (type === 'rsa') return pick('1.2.840.113549.1.1.11');
  if (type === 'ed25519') return pick('1.3.101.112');
  throw new UnsupportedAlgorithmError(`issuer key type ${type ?? 'unknown'} is not supported`);
}
