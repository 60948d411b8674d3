import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { createCsr } from './csr.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

describe('createCsr', () => {
  describe('when a service asks sentry for its SVID', () => {
    it('makes a P-256 CSR with an empty subject and no attributes that verifies, and the matching PKCS#8 key', async () => {
      const { csrPem, keyPem } = await createCsr();
      const csr = new x509.Pkcs10CertificateRequest(csrPem);
      expect(await csr.verify()).toBe(true);
      expect(csr.subject).toBe('');
      expect(csr.attributes).toEqual([]);
      expect(csr.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
      const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ format: 'der', type: 'spki' });
      expect(Buffer.from(csr.publicKey.rawData).equals(fromKey)).toBe(true);
      expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    });

    it('uses a new key every time', async () => {
      const [a, b] = await Promise.all([createCsr(), createCsr()]);
      expect(a.keyPem).not.toBe(b.keyPem);
    });
  });
});
