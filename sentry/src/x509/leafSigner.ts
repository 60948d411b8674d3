// Issues workload certificates (spec §2.4) fast: every part that is the same for all leaves of one issuer (version,
// signature algorithm, issuer name, key usages, authority key identifier) is encoded once; per request only the
// serial number, validity, public key and subject alternative names are encoded, then the TBSCertificate is
// signed with the issuer key that was imported once.
import { createPublicKey, randomFillSync, sign, type KeyObject } from 'node:crypto';
import { Tag, encodeOid, encodeTime, sequence, tlv } from '@tapr/lib/security/der';
import { bitString, signingAlgorithmFor, type SignatureAlgorithm } from './algorithms.js';
import { certificateParts, subjectKeyIdentifier } from './certificateParts.js';

export interface LeafRequest {
  /** The SubjectPublicKeyInfo DER to certify (from the CSR). */
  publicKeyInfo: Buffer;
  /** The SPIFFE ID, the URI SAN. */
  uri: string;
  dnsNames: readonly string[];
  notBefore: Date;
  notAfter: Date;
}

const bool = (value: boolean) => Uint8Array.of(Tag.boolean, 1, value ? 0xff : 0);
const octets = (content: Uint8Array) => tlv(Tag.octetString, content);
const extension = (oid: string, critical: boolean, value: Uint8Array) =>
  critical ? sequence(encodeOid(oid), bool(true), octets(value)) : sequence(encodeOid(oid), octets(value));

// digitalSignature (bit 0) | keyEncipherment (bit 2): one byte 1010_0000 with 5 unused bits, as Go encodes it.
const keyUsage = extension('2.5.29.15', true, Uint8Array.of(Tag.bitString, 2, 5, 0xa0));
const extKeyUsage = extension('2.5.29.37', false, sequence(encodeOid('1.3.6.1.5.5.7.3.1'), encodeOid('1.3.6.1.5.5.7.3.2')));
// cA defaults to FALSE, so the value is an empty SEQUENCE.
const basicConstraints = extension('2.5.29.19', true, sequence());
const version3 = Uint8Array.of(0xa0, 3, Tag.integer, 1, 2);
const emptySubject = sequence();
// The SubjectAltName extension up to its value: OID 2.5.29.17 and critical=TRUE.
const subjectAltNameHead = Buffer.concat([encodeOid('2.5.29.17'), bool(true)]);
const ascii = /^[\x21-\x7e]+$/;

export class LeafSigner {
  readonly algorithm: SignatureAlgorithm;
  readonly #key: KeyObject;
  readonly #issuerName: Buffer;
  /** KeyUsage, ExtKeyUsage, BasicConstraints and AuthorityKeyIdentifier: identical in every leaf. */
  readonly #fixedExtensions: Buffer;

  /** `issuerCertificate` is the DER of the certificate whose key `issuerKey` is; they must match. */
  constructor(issuerCertificate: Buffer, issuerKey: KeyObject) {
    const parts = certificateParts(issuerCertificate);
    const keySpki = createPublicKey(issuerKey).export({ format: 'der', type: 'spki' });
    if (!keySpki.equals(parts.publicKeyInfo)) throw new Error('the issuer key does not belong to the issuer certificate');
    this.algorithm = signingAlgorithmFor(issuerKey);
    this.#key = issuerKey;
    this.#issuerName = parts.subject;
    const keyId = subjectKeyIdentifier(parts);
    // Like Go's x509, the leaf names its issuer's key only when the issuer declares a key identifier.
    const authorityKeyId = keyId ? [extension('2.5.29.35', false, sequence(tlv(0x80, keyId)))] : [];
    this.#fixedExtensions = Buffer.concat([keyUsage, extKeyUsage, basicConstraints, ...authorityKeyId]);
  }

  /** The DER of a new leaf certificate. */
  sign(request: LeafRequest): Buffer {
    const tbs = sequence(
      version3,
      serialNumber(),
      this.algorithm.identifier,
      this.#issuerName,
      sequence(encodeTime(request.notBefore), encodeTime(request.notAfter)),
      emptySubject,
      request.publicKeyInfo,
      tlv(0xa3, sequence(this.#fixedExtensions, subjectAltName(request.uri, request.dnsNames))),
    );
    const signature = sign(this.algorithm.hash, tbs, this.#key);
    return sequence(tbs, this.algorithm.identifier, bitString(signature));
  }
}

// Serial numbers come from a pool refilled 4 KiB at a time: one CSPRNG call per 256 certificates instead of one each.
const randomPool = Buffer.alloc(4096);
let randomOffset = randomPool.length;

/** 128 random bits with the top bit cleared (a positive INTEGER of fixed length; 127 bits of entropy). */
function serialNumber(): Buffer {
  if (randomOffset + 16 > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const bytes = Buffer.from(randomPool.subarray(randomOffset, randomOffset + 16));
  randomOffset += 16;
  bytes[0] = (bytes[0] as number) & 0x7f || 0x01;
  return tlv(Tag.integer, bytes);
}

/** Critical, because the leaf's subject is empty (RFC 5280 §4.2.1.6). */
function subjectAltName(uri: string, dnsNames: readonly string[]): Buffer {
  const names = [uri, ...dnsNames].map((name, index) => {
    if (!ascii.test(name)) throw new Error(`subject alternative name "${name}" is not printable ASCII`);
    return tlv(index === 0 ? 0x86 : 0x82, Buffer.from(name, 'latin1'));
  });
  return sequence(subjectAltNameHead, octets(sequence(...names)));
}

/** Truncates to whole seconds, the precision certificates carry. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
