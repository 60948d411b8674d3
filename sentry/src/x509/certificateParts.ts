// The pieces of an X.509 certificate the lean signer needs from its issuer (the subject as raw DER, the public key,
// the subject key identifier), read by slicing the DER.
import { DerError, Tag, decodeOid, expectTlv, readTlv } from '@tapr/lib/security/der';

export interface CertificateParts {
  /** The TBSCertificate DER. */
  tbs: Buffer;
  /** The subject Name DER, copied verbatim as a leaf's issuer so name chaining is byte-exact. */
  subject: Buffer;
  issuer: Buffer;
  publicKeyInfo: Buffer;
  /** Extension values (the OCTET STRING content) by OID. */
  extensions: Map<string, { critical: boolean; value: Buffer }>;
}

export function certificateParts(der: Buffer): CertificateParts {
  const cert = expectTlv(der, 0, Tag.sequence, der.length, 'Certificate');
  if (cert.end !== der.length) throw new DerError('trailing data after the Certificate');
  const tbs = expectTlv(der, cert.contentStart, Tag.sequence, cert.end, 'TBSCertificate');
  let next = readTlv(der, tbs.contentStart, tbs.end, 'version or serial number');
  if (next.tag === 0xa0) next = readTlv(der, next.end, tbs.end, 'serial number');
  if (next.tag !== Tag.integer) throw new DerError('expected the certificate serial number');
  const signature = expectTlv(der, next.end, Tag.sequence, tbs.end, 'signature algorithm');
  const issuer = expectTlv(der, signature.end, Tag.sequence, tbs.end, 'issuer');
  const validity = expectTlv(der, issuer.end, Tag.sequence, tbs.end, 'validity');
  const subject = expectTlv(der, validity.end, Tag.sequence, tbs.end, 'subject');
  const spki = expectTlv(der, subject.end, Tag.sequence, tbs.end, 'SubjectPublicKeyInfo');
  const extensions = new Map<string, { critical: boolean; value: Buffer }>();
  for (let offset = spki.end; offset < tbs.end; ) {
    const field = readTlv(der, offset, tbs.end, 'optional TBSCertificate field');
    offset = field.end;
    if (field.tag !== 0xa3) continue;
    const list = expectTlv(der, field.contentStart, Tag.sequence, field.end, 'extensions');
    for (let at = list.contentStart; at < list.end; ) {
      const ext = expectTlv(der, at, Tag.sequence, list.end, 'extension');
      at = ext.end;
      const oid = expectTlv(der, ext.contentStart, Tag.oid, ext.end, 'extension OID');
      let valueAt = oid.end;
      let critical = false;
      const maybeCritical = readTlv(der, valueAt, ext.end, 'extension criticality or value');
      if (maybeCritical.tag === Tag.boolean) {
        critical = der[maybeCritical.contentStart] === 0xff;
        valueAt = maybeCritical.end;
      }
      const value = expectTlv(der, valueAt, Tag.octetString, ext.end, 'extension value');
      extensions.set(decodeOid(der.subarray(oid.contentStart, oid.end)), { critical, value: der.subarray(value.contentStart, value.end) });
    }
  }
  return {
    tbs: der.subarray(tbs.start, tbs.end),
    subject: der.subarray(subject.start, subject.end),
    issuer: der.subarray(issuer.start, issuer.end),
    publicKeyInfo: der.subarray(spki.start, spki.end),
    extensions,
  };
}

export const oidSubjectKeyIdentifier = '2.5.29.14';

/** The key identifier in a certificate's SubjectKeyIdentifier extension, if it has one. */
export function subjectKeyIdentifier(parts: CertificateParts): Buffer | undefined {
  const ext = parts.extensions.get(oidSubjectKeyIdentifier);
  if (!ext) return undefined;
  const id = expectTlv(ext.value, 0, Tag.octetString, ext.value.length, 'SubjectKeyIdentifier');
  return ext.value.subarray(id.contentStart, id.end);
}
