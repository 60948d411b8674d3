import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LeafSigner, wholeSeconds } from './leafSigner.js';
import { readVerifiedCsr } from './csr.js';
import { generateIssuer, generateRoot } from '../ca/generate.js';
import { opensslCsr, peculiarCsr } from '../testing/csr.js';

const spiffeId = 'spiffe://public/ns/orders-ns/orders';

async function issuerPair() {
  const now = new Date();
  const root = await generateRoot({ trustDomain: 'cluster.local', now, ttlMs: 86_400_000, skewMs: 900_000 });
  const issuer = await generateIssuer({ trustDomain: 'cluster.local', namespace: 'dapr-system', now, ttlMs: 86_400_000, skewMs: 900_000, root });
  return { root, issuer, issuerCert: new X509Certificate(issuer.certPem), rootCert: new X509Certificate(root.certPem) };
}

describe('LeafSigner', () => {
  let ca: Awaited<ReturnType<typeof issuerPair>>;
  let signer: LeafSigner;
  beforeAll(async () => {
    ca = await issuerPair();
    signer = new LeafSigner(ca.issuerCert.raw, createPrivateKey(ca.issuer.keyPem));
  });

  describe('when signing the public key of an EC P-256 CSR', () => {
    const notBefore = wholeSeconds(new Date(Date.now() - 15 * 60_000));
    const notAfter = wholeSeconds(new Date(Date.now() + 24 * 3_600_000));
    let csr: Awaited<ReturnType<typeof peculiarCsr>>;
    let der: Buffer;
    beforeAll(async () => {
      csr = await peculiarCsr();
      der = signer.sign({ publicKeyInfo: (await readVerifiedCsr(Buffer.from(csr.pem))).publicKey.der, uri: spiffeId, dnsNames: [], notBefore, notAfter });
    });

    it('produces a certificate Node verifies with the issuer key and accepts as issued by it', () => {
      const cert = new X509Certificate(der);
      expect(cert.verify(ca.issuerCert.publicKey)).toBe(true);
      expect(cert.checkIssued(ca.issuerCert)).toBe(true);
      expect(cert.issuer).toBe(ca.issuerCert.subject);
    });

    it('has every field spec §2.4 asks for a workload certificate', async () => {
      const cert = new x509.X509Certificate(der);
      expect(cert.subject).toBe('');
      expect(cert.notBefore.getTime()).toBe(notBefore.getTime());
      expect(cert.notAfter.getTime()).toBe(notAfter.getTime());
      expect(cert.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
      // 128-bit random serial: 16 bytes, positive.
      expect(cert.serialNumber).toMatch(/^[0-7][0-9a-f]{31}$/);
      const keyUsage = cert.getExtension(x509.KeyUsagesExtension);
      expect(keyUsage?.critical).toBe(true);
      expect(keyUsage?.usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
      expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]);
      const basic = cert.getExtension(x509.BasicConstraintsExtension);
      expect(basic?.ca).toBe(false);
      const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
      expect(san?.critical).toBe(true);
      expect(san?.names.toJSON()).toEqual([{ type: 'url', value: spiffeId }]);
      const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
      const issuerSki = new x509.X509Certificate(ca.issuer.certPem).getExtension(x509.SubjectKeyIdentifierExtension);
      expect(aki?.keyId).toBe(issuerSki?.keyId);
      const certKey = Buffer.from(cert.publicKey.rawData);
      expect(certKey.equals(createPublicKey(csr.privateKey).export({ format: 'der', type: 'spki' }))).toBe(true);
      expect(await cert.verify({ publicKey: new x509.X509Certificate(ca.issuer.certPem).publicKey, signatureOnly: true })).toBe(true);
    });

    it('chains to the root through the issuer (peculiar chain builder)', async () => {
      const chain = await new x509.X509ChainBuilder({ certificates: [new x509.X509Certificate(ca.issuer.certPem), new x509.X509Certificate(ca.root.certPem)] }).build(
        new x509.X509Certificate(der),
      );
      expect(chain).toHaveLength(3);
      expect(chain[2]?.subject).toBe('O=cluster.local');
    });
  });

  describe('when it signs many leaves', () => {
    it('gives every one its own serial number, across refills of the random pool', async () => {
      const csr = await peculiarCsr();
      const serials = new Set<string>();
      for (let i = 0; i < 600; i++) {
        const der = signer.sign({ publicKeyInfo: csr.publicKeyInfo, uri: spiffeId, dnsNames: [], notBefore: new Date(), notAfter: new Date(Date.now() + 60_000) });
        serials.add(new X509Certificate(der).serialNumber);
      }
      expect(serials.size).toBe(600);
    });
  });

  describe('when given DNS names', () => {
    it('puts them after the SPIFFE URI in the subject alternative names', async () => {
      const csr = await peculiarCsr();
      const der = signer.sign({
        publicKeyInfo: csr.publicKeyInfo,
        uri: 'spiffe://cluster.local/ns/dapr-system/dapr-injector',
        dnsNames: ['dapr-sidecar-injector.dapr-system.svc'],
        notBefore: new Date(),
        notAfter: new Date(Date.now() + 60_000),
      });
      expect(new X509Certificate(der).subjectAltName).toBe(
        'URI:spiffe://cluster.local/ns/dapr-system/dapr-injector, DNS:dapr-sidecar-injector.dapr-system.svc',
      );
    });
  });

  describe('when the CSR holds an RSA or P-384 key made by openssl', () => {
    it.each(['rsa', 'ec-p384'] as const)('certifies the %s key unchanged', async (kind) => {
      const csr = opensslCsr(kind);
      const der = signer.sign({ publicKeyInfo: (await readVerifiedCsr(Buffer.from(csr.pem))).publicKey.der, uri: spiffeId, dnsNames: [], notBefore: new Date(), notAfter: new Date(Date.now() + 60_000) });
      const cert = new X509Certificate(der);
      expect(cert.publicKey.export({ format: 'der', type: 'spki' }).equals(csr.publicKeyInfo)).toBe(true);
      expect(cert.verify(ca.issuerCert.publicKey)).toBe(true);
      // The CSR's subject and SANs are ignored: only the SPIFFE ID from the request appears.
      expect(cert.subjectAltName).toBe(`URI:${spiffeId}`);
      expect(new x509.X509Certificate(der).subject).toBe('');
    });
  });

  describe('when dates fall in 2050 or later', () => {
    it('encodes them as GeneralizedTime, which parsers read back exactly', async () => {
      const csr = await peculiarCsr();
      const notAfter = new Date(Date.UTC(2051, 0, 2, 3, 4, 5));
      const der = signer.sign({ publicKeyInfo: csr.publicKeyInfo, uri: spiffeId, dnsNames: [], notBefore: new Date(), notAfter });
      expect(new x509.X509Certificate(der).notAfter.getTime()).toBe(notAfter.getTime());
    });
  });

  describe('when the key does not belong to the issuer certificate', () => {
    it('refuses to build a signer', () => {
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      expect(() => new LeafSigner(ca.issuerCert.raw, other)).toThrow('the issuer key does not belong to the issuer certificate');
    });
  });

  describe('when the issuer key is RSA', () => {
    it('signs with SHA256-RSA and the result verifies', () => {
      const rsa = opensslSelfSignedRsaCa();
      const signerRsa = new LeafSigner(rsa.cert.raw, rsa.key);
      const der = signerRsa.sign({ publicKeyInfo: ca.issuerCert.publicKey.export({ format: 'der', type: 'spki' }), uri: spiffeId, dnsNames: [], notBefore: new Date(), notAfter: new Date(Date.now() + 60_000) });
      const cert = new X509Certificate(der);
      expect(cert.verify(rsa.cert.publicKey)).toBe(true);
      expect(new x509.X509Certificate(der).signatureAlgorithm).toMatchObject({ name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } });
    });
  });
});

function opensslSelfSignedRsaCa() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const dir = mkdtempSync(path.join(tmpdir(), 'rsa-ca-'));
  writeFileSync(path.join(dir, 'key.pem'), keyPem);
  const certPem = execFileSync('openssl', ['req', '-x509', '-new', '-key', path.join(dir, 'key.pem'), '-subj', '/O=rsa-ca', '-days', '1']).toString();
  rmSync(dir, { recursive: true, force: true });
  return { cert: new X509Certificate(certPem), key: privateKey };
}
