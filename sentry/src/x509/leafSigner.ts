// Issues workload certificates (spec §2.4) fast: every part that is the same for all leaves of one issuer (version,
// signature algorithm, issuer name, key usages, authority key identifier) is encoded once; per request only the
// serial number, validity, public key and subject alternative names are encoded, then the TBSCertificate is
// signed with the issuer key that was imported once.
import { createPublicKey, randomFillSync, sign, type KeyObject } from 'node:crypto';
import { Tag, encodeOid, encodeTime, sequence, tlv } from '@tapr/lib/security/der';
import { signingAlgorithmFor, type SignatureAlgorithm } from './algorithms.js';
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
  /** Signature algorithm and issuer name: they follow the serial number. */
  readonly #algorithmAndIssuer: Buffer;
  /** KeyUsage, ExtKeyUsage, BasicConstraints and AuthorityKeyIdentifier: identical in every leaf. */
  readonly #fixedExtensions: Buffer;
  /** The last validity encoded: requests in the same second share it. */
  #validity: { notBefore: number; notAfter: number; der: Buffer } = { notBefore: NaN, notAfter: NaN, der: Buffer.alloc(0) };

  /** `issuerCertificate` is the DER of the certificate whose key `issuerKey` is; they must match. */
  constructor(issuerCertificate: Buffer, issuerKey: KeyObject) {
    const parts = certificateParts(issuerCertificate);
    const keySpki = createPublicKey(issuerKey).export({ format: 'der', type: 'spki' });
    if (!keySpki.equals(parts.publicKeyInfo)) throw new Error('the issuer key does not belong to the issuer certificate');
    this.algorithm = signingAlgorithmFor(issuerKey);
    this.#key = issuerKey;
    this.#algorithmAndIssuer = Buffer.concat([this.algorithm.identifier, parts.subject]);
    const keyId = subjectKeyIdentifier(parts);
    // Like Go's x509, the leaf names its issuer's key only when the issuer declares a key identifier.
    const authorityKeyId = keyId ? [extension('2.5.29.35', false, sequence(tlv(0x80, keyId)))] : [];
    this.#fixedExtensions = Buffer.concat([keyUsage, extKeyUsage, basicConstraints, ...authorityKeyId]);
  }

  /**
   * The DER of a new leaf certificate. The TBSCertificate is written into one buffer whose lengths are worked out
   * first (a tree of small concatenations costs more than the rest of the encoding).
   */
  sign(request: LeafRequest): Buffer {
    const validity = this.#validityOf(request.notBefore, request.notAfter);
    const san = subjectAltName(request.uri, request.dnsNames);
    const spki = request.publicKeyInfo;
    const extensionList = this.#fixedExtensions.length + san.length;
    const extensionSequence = headerLength(extensionList) + extensionList;
    const body =
      version3.length + serialLength + this.#algorithmAndIssuer.length + validity.length + emptySubject.length + spki.length +
      headerLength(extensionSequence) + extensionSequence;
    const tbs = Buffer.allocUnsafe(headerLength(body) + body);
    let at = writeHeader(tbs, 0, Tag.sequence, body);
    at = put(tbs, at, version3);
    at = writeSerialNumber(tbs, at);
    at = put(tbs, at, this.#algorithmAndIssuer);
    at = put(tbs, at, validity);
    at = put(tbs, at, emptySubject);
    at = put(tbs, at, spki);
    at = writeHeader(tbs, at, 0xa3, extensionSequence);
    at = writeHeader(tbs, at, Tag.sequence, extensionList);
    at = put(tbs, at, this.#fixedExtensions);
    put(tbs, at, san);

    const signature = sign(this.algorithm.hash, tbs, this.#key);
    const identifier = this.algorithm.identifier;
    const signatureBits = 1 + signature.length;
    const content = tbs.length + identifier.length + headerLength(signatureBits) + signatureBits;
    const certificate = Buffer.allocUnsafe(headerLength(content) + content);
    at = writeHeader(certificate, 0, Tag.sequence, content);
    at = put(certificate, at, tbs);
    at = put(certificate, at, identifier);
    at = writeHeader(certificate, at, Tag.bitString, signatureBits);
    certificate[at] = 0; // no unused bits
    put(certificate, at + 1, signature);
    return certificate;
  }

  #validityOf(notBefore: Date, notAfter: Date): Buffer {
    const last = this.#validity;
    if (last.notBefore !== notBefore.getTime() || last.notAfter !== notAfter.getTime()) {
      this.#validity = { notBefore: notBefore.getTime(), notAfter: notAfter.getTime(), der: sequence(encodeTime(notBefore), encodeTime(notAfter)) };
    }
    return this.#validity.der;
  }
}

/** Size of a DER tag and length for `length` content bytes. */
function headerLength(length: number): number {
  return length < 0x80 ? 2 : length < 0x100 ? 3 : length < 0x10000 ? 4 : 5;
}

function writeHeader(target: Buffer, at: number, tag: number, length: number): number {
  target[at++] = tag;
  if (length < 0x80) {
    target[at++] = length;
  } else if (length < 0x100) {
    target[at++] = 0x81;
    target[at++] = length;
  } else if (length < 0x10000) {
    target[at++] = 0x82;
    target[at++] = length >> 8;
    target[at++] = length & 0xff;
  } else {
    target[at++] = 0x83;
    target[at++] = length >> 16;
    target[at++] = (length >> 8) & 0xff;
    target[at++] = length & 0xff;
  }
  return at;
}

function put(target: Buffer, at: number, bytes: Uint8Array): number {
  target.set(bytes, at);
  return at + bytes.length;
}

// Serial numbers come from a pool refilled 4 KiB at a time: one CSPRNG call per 256 certificates instead of one each.
const randomPool = Buffer.alloc(4096);
let randomOffset = randomPool.length;
const serialBytes = 16;
const serialLength = 2 + serialBytes;

/**
 * Writes a serial number: 128 random bits with the top bit cleared (a positive INTEGER of fixed length; 127 bits
 * of entropy), and a first byte that is never zero (DER forbids a leading zero byte before a clear top bit).
 */
function writeSerialNumber(target: Buffer, at: number): number {
  if (randomOffset + serialBytes > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  target[at] = Tag.integer;
  target[at + 1] = serialBytes;
  randomPool.copy(target, at + 2, randomOffset, randomOffset + serialBytes);
  randomOffset += serialBytes;
  target[at + 2] = (target[at + 2] as number) & 0x7f || 0x01;
  return at + serialLength;
}

/** Critical, because the leaf's subject is empty (RFC 5280 §4.2.1.6). */
function subjectAltName(uri: string, dnsNames: readonly string[]): Buffer {
  let names = generalNameLength(uri);
  for (const name of dnsNames) names += generalNameLength(name);
  const octets = headerLength(names) + names;
  const body = subjectAltNameHead.length + headerLength(octets) + octets;
  const out = Buffer.allocUnsafe(headerLength(body) + body);
  let at = writeHeader(out, 0, Tag.sequence, body);
  at = put(out, at, subjectAltNameHead);
  at = writeHeader(out, at, Tag.octetString, octets);
  at = writeHeader(out, at, Tag.sequence, names);
  at = writeGeneralName(out, at, 0x86, uri);
  for (const name of dnsNames) at = writeGeneralName(out, at, 0x82, name);
  return out;
}

function generalNameLength(name: string): number {
  if (!ascii.test(name)) throw new Error(`subject alternative name "${name}" is not printable ASCII`);
  return headerLength(name.length) + name.length;
}

function writeGeneralName(target: Buffer, at: number, tag: number, name: string): number {
  at = writeHeader(target, at, tag, name.length);
  return at + target.write(name, at, 'latin1');
}

/** Truncates to whole seconds, the precision certificates carry. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
