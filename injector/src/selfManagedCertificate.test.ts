import { X509Certificate } from 'node:crypto';
import { silentLogger } from '@tapr/lib';
import { SelfManagedCertificates } from './selfManagedCertificate.js';
import { FakeKube } from './testdata/fakeKube.js';

const options = (kube: FakeKube) => ({
  kube,
  namespace: 'dapr-system',
  secretName: 'tapr-sidecar-injector-ca',
  dnsNames: ['dapr-sidecar-injector.dapr-system.svc', 'localhost'],
  ipAddresses: ['127.0.0.1'],
  logger: silentLogger(),
});

async function firstCertificate(source: SelfManagedCertificates) {
  const controller = new AbortController();
  const running = source.run(controller.signal);
  const certificate = await source.ready(controller.signal);
  controller.abort();
  await running;
  return certificate;
}

describe('SelfManagedCertificates', () => {
  describe('when no CA Secret exists', () => {
    it('creates one and issues a serving certificate for the names, signed by it', async () => {
      const kube = new FakeKube();
      const certificate = await firstCertificate(new SelfManagedCertificates(options(kube)));
      const secret = kube.secrets.get('dapr-system/tapr-sidecar-injector-ca')!;
      expect(secret['ca.crt']).toBe(certificate.caBundlePem);
      const leaf = new X509Certificate(certificate.certChainPem);
      const ca = new X509Certificate(certificate.caBundlePem);
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.checkHost('dapr-sidecar-injector.dapr-system.svc')).toBeTruthy();
      expect(leaf.checkIP('127.0.0.1')).toBeTruthy();
      expect(ca.ca).toBe(true);
    });
  });

  describe('when another replica created the CA', () => {
    it('uses the same CA, so one caBundle verifies every replica', async () => {
      const kube = new FakeKube();
      const first = await firstCertificate(new SelfManagedCertificates(options(kube)));
      const second = await firstCertificate(new SelfManagedCertificates(options(kube)));
      expect(second.caBundlePem).toBe(first.caBundlePem);
      expect(second.certChainPem).not.toBe(first.certChainPem);
      expect(new X509Certificate(second.certChainPem).verify(new X509Certificate(first.caBundlePem).publicKey)).toBe(true);
    });
  });
});
