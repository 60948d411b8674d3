// Generating CA certificates (spec §2.4) — rare (first start, issuer renewal, root rotation), so it uses
// @peculiar/x509, loaded when first needed, rather than the lean leaf path. Keys are ECDSA P-256, stored as PKCS#8 PEM.
import { randomBytes, webcrypto } from 'node:crypto';
import { formatSpiffeId } from '@tapr/lib/security/spiffe';
import { encodePem } from '@tapr/lib/security/pem';
import { loadX509 } from '@tapr/lib/security/x509';

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface GeneratedCertificate {
  certPem: string;
  keyPem: string;
}

export interface RootOptions {
  trustDomain: string;
  now: Date;
  ttlMs: number;
  /** NotBefore is backdated by this much, so peers with slightly slow clocks accept the certificate. */
  skewMs: number;
}

export interface IssuerOptions extends RootOptions {
  /** Sentry's namespace: the issuer's subject is `O=spiffe://<td>/ns/<namespace>/dapr-sentry`. */
  namespace: string;
  /** The root that signs the issuer. */
  root: GeneratedCertificate;
}

/** A self-signed root: Subject O=<trust domain>, CA, DigitalSignature|KeyEncipherment|CertSign. */
export async function generateRoot(options: RootOptions): Promise<GeneratedCertificate> {
  const x509 = await loadX509();
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialHex(),
    name: [{ O: [options.trustDomain] }],
    keys,
    signingAlgorithm: ecdsa,
    notBefore: wholeSeconds(options.now.getTime() - options.skewMs),
    notAfter: wholeSeconds(options.now.getTime() + options.ttlMs),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyCertSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await keyPem(keys.privateKey) };
}

/**
 * An issuer (intermediate) signed by `root`: Subject O=<sentry's SPIFFE ID>, CA,
 * DigitalSignature|KeyEncipherment|CertSign|CRLSign. Its NotAfter never passes the root's.
 */
export async function generateIssuer(options: IssuerOptions): Promise<GeneratedCertificate> {
  const x509 = await loadX509();
  const root = new x509.X509Certificate(options.root.certPem);
  const rootKey = await webcrypto.subtle.importKey('pkcs8', pemBody(options.root.keyPem), ecdsa, false, ['sign']);
  const keys = await newKeys();
  const sentryId = formatSpiffeId({ trustDomain: options.trustDomain, namespace: options.namespace, appId: 'dapr-sentry' });
  const notAfter = Math.min(options.now.getTime() + options.ttlMs, root.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(),
    subject: [{ O: [sentryId] }],
    issuer: root.subjectName,
    publicKey: keys.publicKey,
    signingKey: rootKey,
    signingAlgorithm: ecdsa,
    notBefore: wholeSeconds(options.now.getTime() - options.skewMs),
    notAfter: wholeSeconds(notAfter),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature |
          x509.KeyUsageFlags.keyEncipherment |
          x509.KeyUsageFlags.keyCertSign |
          x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(root),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await keyPem(keys.privateKey) };
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  return encodePem('PRIVATE KEY', new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', key)));
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** A random positive 128-bit serial number in hex (the top bit cleared so it needs no sign byte). */
function serialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f || 0x01;
  return bytes.toString('hex');
}

function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}
