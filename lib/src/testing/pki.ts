// A throwaway PKI for the local control plane (and for tests that need certificates of their own):
// a CA, serving and client certificates, all ECDSA P-256, written as PEM.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, randomBytes } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface Issued {
  certPem: string;
  keyPem: string;
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

export interface CertificateRequest {
  /** Omitted for SPIFFE leaves, which Dapr issues without a subject. */
  commonName?: string;
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  uris?: string[];
  usage: 'server' | 'client' | 'both';
  validityDays?: number;
  /** Overrides validityDays, for certificates that must expire within a test. */
  validityMs?: number;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function subject(commonName: string | undefined, organizations: string[] = []): string {
  const escape = (value: string) => value.replace(/([,+"\\<>;=])/g, '\\$1');
  return [...(commonName ? [`CN=${escape(commonName)}`] : []), ...organizations.map((o) => `O=${escape(o)}`)].join(', ');
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes.toString('hex');
}

function validity(days: number, ms = days * 86_400_000): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - 5 * 60_000), notAfter: new Date(now + ms) };
}

export async function createCa(commonName: string, validityDays = 30): Promise<Issued> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: subject(commonName),
    keys,
    signingAlgorithm: ecdsa,
    ...validity(validityDays),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, certPem: withNewline(cert.toString('pem')), keyPem: withNewline(await privateKeyPem(keys.privateKey)) };
}

/** An intermediate CA signed by `parent` (like sentry's issuer under its root). */
export async function createIntermediateCa(parent: Issued, commonName: string, validityDays = 30): Promise<Issued> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: subject(commonName),
    issuer: parent.cert.subject,
    publicKey: keys.publicKey,
    signingKey: parent.keys.privateKey,
    signingAlgorithm: ecdsa,
    ...validity(validityDays),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(parent.keys.publicKey),
    ],
  });
  return { cert, keys, certPem: withNewline(cert.toString('pem')), keyPem: withNewline(await privateKeyPem(keys.privateKey)) };
}

export async function issueCertificate(ca: Issued, request: CertificateRequest): Promise<Issued> {
  const keys = await generateKeys();
  const names: x509.JsonGeneralName[] = [
    ...(request.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(request.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(request.uris ?? []).map((value) => ({ type: 'url' as const, value })),
  ];
  const usages = {
    server: [x509.ExtendedKeyUsage.serverAuth],
    client: [x509.ExtendedKeyUsage.clientAuth],
    both: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
  }[request.usage];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: subject(request.commonName, request.organizations),
    issuer: ca.cert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ecdsa,
    ...validity(request.validityDays ?? 30, request.validityMs),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
    ],
  });
  return { cert, keys, certPem: withNewline(cert.toString('pem')), keyPem: withNewline(await privateKeyPem(keys.privateKey)) };
}

// PEM blocks end with a newline so that concatenated chains stay parseable.
function withNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}
