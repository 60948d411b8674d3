// The self-managed serving certificate, for clusters without sentry (`--cert-source self-managed`): a CA kept in
// a Secret of the control-plane namespace — shared by every injector replica, so each replica's leaf verifies
// against the one caBundle — and a leaf per replica with the Service's DNS names, renewed at two thirds of its
// life. The first replica creates the Secret; a replica that loses the creation race reads the winner's.
import type * as X509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import type { Logger } from '@tapr/lib';
import { loadX509 } from '@tapr/lib/security/x509';
import type { KubeAccess } from './kubeAccess.js';
import { CertificateHolder } from './servingCertificate.js';
import { Backoff, sleep } from './sleep.js';

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const day = 86_400_000;

export interface SelfManagedCertificateOptions {
  kube: KubeAccess;
  namespace: string;
  secretName: string;
  dnsNames: string[];
  ipAddresses: string[];
  logger: Logger;
  caValidityMs?: number;
  leafValidityMs?: number;
}

interface Ca {
  certPem: string;
  cert: X509.X509Certificate;
  key: webcrypto.CryptoKey;
}

export class SelfManagedCertificates extends CertificateHolder {
  constructor(private readonly options: SelfManagedCertificateOptions) {
    super();
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger, leafValidityMs = 365 * day } = this.options;
    const backoff = new Backoff(1000, 30_000);
    while (!signal.aborted) {
      let renewInMs: number;
      try {
        const ca = await this.loadOrCreateCa();
        const leaf = await issueLeaf(ca, this.options.dnsNames, this.options.ipAddresses, leafValidityMs);
        this.set({ certChainPem: leaf.certPem, keyPem: leaf.keyPem, caBundlePem: ca.certPem });
        logger.info('issued the webhook serving certificate from the self-managed CA', {
          secret: `${this.options.namespace}/${this.options.secretName}`,
          dnsNames: this.options.dnsNames.join(','),
          notAfter: leaf.notAfter.toISOString(),
        });
        backoff.reset();
        renewInMs = Math.min(((leaf.notAfter.getTime() - Date.now()) * 2) / 3, 2 ** 31 - 1);
      } catch (error) {
        logger.error('cannot issue the webhook serving certificate; retrying', { error });
        renewInMs = backoff.take();
      }
      await sleep(renewInMs, signal);
    }
  }

  private async loadOrCreateCa(): Promise<Ca> {
    const { kube, namespace, secretName, logger } = this.options;
    const existing = await kube.readSecret(namespace, secretName);
    if (existing) return importCa(existing, `${namespace}/${secretName}`);
    const created = await createCa(this.options.caValidityMs ?? 10 * 365 * day);
    if (await kube.createSecret(namespace, secretName, { 'ca.crt': created.certPem, 'ca.key': created.keyPem })) {
      logger.info('created the self-managed webhook CA', { secret: `${namespace}/${secretName}` });
      return created.ca;
    }
    const winner = await kube.readSecret(namespace, secretName);
    if (!winner) throw new Error(`Secret ${namespace}/${secretName} was created by someone else but cannot be read`);
    return importCa(winner, `${namespace}/${secretName}`);
  }
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes.toString('hex');
}

async function createCa(validityMs: number): Promise<{ ca: Ca; certPem: string; keyPem: string }> {
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=tapr sidecar injector CA',
    keys,
    signingAlgorithm: ecdsa,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + validityMs),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  const certPem = cert.toString('pem');
  return { ca: { certPem, cert, key: keys.privateKey }, certPem, keyPem };
}

async function importCa(data: Record<string, string>, where: string): Promise<Ca> {
  const x509 = await loadX509();
  const certPem = data['ca.crt'];
  const keyPem = data['ca.key'];
  if (!certPem || !keyPem) throw new Error(`Secret ${where} lacks ca.crt or ca.key`);
  try {
    const cert = new x509.X509Certificate(certPem);
    const key = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(keyPem), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    return { certPem, cert, key };
  } catch (error) {
    throw new Error(`Secret ${where} does not hold an ECDSA P-256 CA (ca.crt, ca.key)`, { cause: error });
  }
}

async function issueLeaf(ca: Ca, dnsNames: string[], ipAddresses: string[], validityMs: number) {
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const notAfter = new Date(Math.min(now + validityMs, ca.cert.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${dnsNames[0] ?? 'dapr-sidecar-injector'}`,
    issuer: ca.cert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: ecdsa,
    notBefore: new Date(now - 5 * 60_000),
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      await x509.AuthorityKeyIdentifierExtension.create(await ca.cert.publicKey.export()),
      new x509.SubjectAlternativeNameExtension(
        [...dnsNames.map((value) => ({ type: 'dns' as const, value })), ...ipAddresses.map((value) => ({ type: 'ip' as const, value }))],
        false,
      ),
    ],
  });
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  return { certPem: cert.toString('pem'), keyPem, notAfter };
}
