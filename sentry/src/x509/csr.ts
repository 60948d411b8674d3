// Certificate signing requests (PKCS#10), read the lean way: slice the DER to find the signed part, the public key
// and the signature, then verify the self-signature with node:crypto. Nothing else in a CSR is used — sentry
// ignores the subject and requested extensions; identity comes from the validated token (spec §2.3).
import { verify } from 'node:crypto';
import { decodePemBlocks } from '@tapr/lib/security/pem';
import { DerError, Tag, decodeOid, expectTlv } from '@tapr/lib/security/der';
import {
  UnsupportedAlgorithmError,
  importPublicKey,
  parsePublicKeyInfo,
  signatureAlgorithmByOid,
  type PublicKeyInfo,
  type SignatureAlgorithm,
} from './algorithms.js';

export type CsrProblem = 'malformed' | 'unsupported' | 'bad-signature';

/** Why a CSR was refused; `problem` picks the metric label, the message goes back to the caller. */
export class CsrError extends Error {
  constructor(
    readonly problem: CsrProblem,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface ParsedCsr {
  /** The DER of CertificationRequestInfo: the bytes the signature covers. */
  info: Buffer;
  publicKey: PublicKeyInfo;
  signatureAlgorithm: SignatureAlgorithm;
  signature: Buffer;
}

/** PEM block types accepted for a CSR: Go's sentry takes both; OpenSSL's `-newhdr` writes the third. */
const csrPemTypes = new Set(['CERTIFICATE REQUEST', 'CERTIFICATE', 'NEW CERTIFICATE REQUEST']);

/** The CSR's DER from the request bytes: a PEM block (the first one counts, as in Go) or raw DER. */
export function csrDer(bytes: Uint8Array): Buffer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length === 0) throw new CsrError('malformed', 'invalid certificate signing request: empty');
  if (buf[0] === Tag.sequence) return buf;
  const plain = plainCsrPem(buf);
  if (plain) return plain;
  let blocks;
  try {
    blocks = decodePemBlocks(buf);
  } catch (error) {
    throw new CsrError('malformed', `invalid certificate signing request: ${(error as Error).message}`, { cause: error });
  }
  const first = blocks[0];
  if (!first) throw new CsrError('malformed', 'invalid certificate signing request: neither a PEM block nor DER');
  if (!csrPemTypes.has(first.type)) {
    throw new CsrError('malformed', `invalid certificate signing request: PEM block type is "${first.type}", want "CERTIFICATE REQUEST"`);
  }
  return first.der;
}

const pemBegin = Buffer.from('-----BEGIN CERTIFICATE REQUEST-----');
const pemEnd = Buffer.from('-----END CERTIFICATE REQUEST-----');

/**
 * The DER of a CSR sent as exactly one plain PEM block (what daprd and tapr's services send): the BEGIN line first,
 * then only base64 characters and line breaks, the END line, at most a line break after it. Read straight from the
 * bytes, without the string copy and regular expressions of the general decoder (a few µs per request). Anything
 * else — other text around the block, headers, more blocks, other whitespace — returns undefined and goes through
 * decodePemBlocks, so the result is the same either way.
 */
function plainCsrPem(buf: Buffer): Buffer | undefined {
  if (buf.length < pemBegin.length + pemEnd.length + 2 || buf.compare(pemBegin, 0, pemBegin.length, 0, pemBegin.length) !== 0) return undefined;
  let at = pemBegin.length;
  if (buf[at] === 0x0d) at++;
  if (buf[at] !== 0x0a) return undefined;
  const bodyStart = at + 1;
  let end = buf.length;
  if (buf[end - 1] === 0x0a) end--;
  if (buf[end - 1] === 0x0d) end--;
  const endLine = end - pemEnd.length;
  if (endLine < bodyStart || buf.compare(pemEnd, 0, pemEnd.length, endLine, end) !== 0) return undefined;
  for (let i = bodyStart; i < endLine; i++) {
    if (!base64OrLineBreak[buf[i] as number]) return undefined;
  }
  // Buffer's base64 decoder skips the line breaks.
  const der = Buffer.from(buf.toString('latin1', bodyStart, endLine), 'base64');
  return der.length > 0 ? der : undefined;
}

const base64OrLineBreak = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n') base64OrLineBreak[c.charCodeAt(0)] = 1;

/** Slices a DER CSR; throws CsrError('malformed'|'unsupported'). */
export function parseCsr(der: Buffer): ParsedCsr {
  try {
    const outer = expectTlv(der, 0, Tag.sequence, der.length, 'CertificationRequest');
    if (outer.end !== der.length) throw new DerError('trailing data after the CertificationRequest');
    const info = expectTlv(der, outer.contentStart, Tag.sequence, outer.end, 'CertificationRequestInfo');
    const version = expectTlv(der, info.contentStart, Tag.integer, info.end, 'CSR version');
    if (version.end - version.contentStart !== 1 || der[version.contentStart] !== 0) throw new DerError('CSR version is not 1 (0)');
    const subject = expectTlv(der, version.end, Tag.sequence, info.end, 'CSR subject');
    const spki = expectTlv(der, subject.end, Tag.sequence, info.end, 'CSR SubjectPublicKeyInfo');
    const attributes = expectTlv(der, spki.end, 0xa0, info.end, 'CSR attributes');
    if (attributes.end !== info.end) throw new DerError('trailing data in CertificationRequestInfo');

    const algorithmId = expectTlv(der, info.end, Tag.sequence, outer.end, 'signature AlgorithmIdentifier');
    const oid = expectTlv(der, algorithmId.contentStart, Tag.oid, algorithmId.end, 'signature algorithm OID');
    const signatureAlgorithm = signatureAlgorithmByOid(decodeOid(der.subarray(oid.contentStart, oid.end)));
    const bits = expectTlv(der, algorithmId.end, Tag.bitString, outer.end, 'signature BIT STRING');
    if (bits.end !== outer.end) throw new DerError('trailing data after the signature');
    if (der[bits.contentStart] !== 0) throw new DerError('signature BIT STRING has unused bits');

    const publicKey = parsePublicKeyInfo(der.subarray(spki.start, spki.end));
    if (publicKey.kind !== signatureAlgorithm.keyKind) {
      throw new UnsupportedAlgorithmError(`signature algorithm ${signatureAlgorithm.name} does not match the ${publicKey.kind.toUpperCase()} public key`);
    }
    return {
      info: der.subarray(info.start, info.end),
      publicKey,
      signatureAlgorithm,
      signature: der.subarray(bits.contentStart + 1, bits.end),
    };
  } catch (error) {
    if (error instanceof UnsupportedAlgorithmError) {
      throw new CsrError('unsupported', `unsupported certificate signing request: ${error.message}`, { cause: error });
    }
    if (error instanceof DerError) {
      throw new CsrError('malformed', `failed to parse certificate signing request: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** Checks the CSR's self-signature (proof that the requester holds the private key); throws CsrError('bad-signature'). */
export async function verifyCsr(csr: ParsedCsr): Promise<void> {
  let key;
  try {
    key = await importPublicKey(csr.publicKey);
  } catch (error) {
    throw new CsrError('malformed', `failed to parse certificate signing request: invalid public key: ${(error as Error).message}`, { cause: error });
  }
  let ok: boolean;
  try {
    ok = verify(csr.signatureAlgorithm.hash, csr.info, key, csr.signature);
  } catch (error) {
    throw new CsrError('bad-signature', `invalid signature: ${(error as Error).message}`, { cause: error });
  }
  if (!ok) throw new CsrError('bad-signature', 'invalid signature: the CSR is not signed by the key it contains');
}

/** csrDer → parseCsr → verifyCsr: the whole check a request's CSR goes through. */
export async function readVerifiedCsr(bytes: Uint8Array): Promise<ParsedCsr> {
  const csr = parseCsr(csrDer(bytes));
  await verifyCsr(csr);
  return csr;
}
