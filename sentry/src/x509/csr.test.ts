import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CsrError, csrDer, parseCsr, readVerifiedCsr, verifyCsr } from './csr.js';
import { encodePem } from '@tapr/lib/security/pem';
import { opensslCsr, peculiarCsr } from '../testing/csr.js';

function refusal(fn: () => unknown): CsrError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CsrError) return error;
    throw error;
  }
  throw new Error('expected a CsrError');
}

function opensslCsrWith(args: string[]): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'csr-'));
  try {
    const result = spawnSync('openssl', ['req', '-new', ...args, '-nodes', '-keyout', path.join(dir, 'k'), '-out', path.join(dir, 'c'), '-subj', '/CN=x']);
    if (result.status !== 0) throw new Error(result.stderr.toString());
    return readFileSync(path.join(dir, 'c'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('reading a CSR', () => {
  describe('when it is well formed and self-signed', () => {
    it.each([
      ['openssl EC P-256', () => opensslCsr('ec')],
      ['openssl RSA 2048', () => opensslCsr('rsa')],
    ])('accepts the %s CSR and returns its public key', (_name, make) => {
      const csr = make();
      const parsed = readVerifiedCsr(Buffer.from(csr.pem));
      expect(parsed.publicKey.der.equals(csr.publicKeyInfo)).toBe(true);
    });

    it('accepts a CSR made with @peculiar/x509 (our own services) as PEM, as legacy "CERTIFICATE" PEM and as DER', async () => {
      const csr = await peculiarCsr();
      expect(readVerifiedCsr(Buffer.from(csr.pem)).publicKey.kind).toBe('ec');
      expect(readVerifiedCsr(Buffer.from(encodePem('CERTIFICATE', csr.der))).publicKey.curve).toBe('P-256');
      expect(readVerifiedCsr(csr.der).publicKey.der.equals(csr.publicKeyInfo)).toBe(true);
    });

    it('takes the first PEM block and ignores text around it, as Go does', async () => {
      const csr = await peculiarCsr();
      expect(() => readVerifiedCsr(Buffer.from(`some text\n${csr.pem}\ntrailing`))).not.toThrow();
    });
  });

  describe('when the input is not a CSR', () => {
    it.each([
      ['empty', Buffer.alloc(0), 'invalid certificate signing request: empty'],
      ['a private key PEM', Buffer.from('-----BEGIN PRIVATE KEY-----\nMC4CAQBLAHBLAH\n-----END PRIVATE KEY-----'), 'PEM block type is "PRIVATE KEY"'],
      ['plain text', Buffer.from('hello'), 'neither a PEM block nor DER'],
      ['truncated DER', Buffer.from([0x30, 0x82, 0x01, 0x00, 0x30]), 'truncated CertificationRequest'],
      ['DER with a long-form length that is not minimal', Buffer.from([0x30, 0x81, 0x05, 1, 2, 3, 4, 5]), 'non-minimal length'],
    ])('refuses %s as malformed, saying why', (_name, input, message) => {
      const error = refusal(() => readVerifiedCsr(input));
      expect(error.problem).toBe('malformed');
      expect(error.message).toContain(message);
    });

    it('refuses a certificate request with trailing bytes', async () => {
      const csr = await peculiarCsr();
      const error = refusal(() => parseCsr(Buffer.concat([csr.der, Buffer.from([0])])));
      expect(error.problem).toBe('malformed');
    });
  });

  describe('when the signature does not match', () => {
    it('refuses a CSR whose signed part was altered', () => {
      const csr = opensslCsr('ec');
      const tampered = Buffer.from(csr.der);
      // The subject is inside the signed part; changing one letter keeps the DER valid and breaks the signature.
      const at = tampered.indexOf('attacker');
      tampered[at] = 'A'.charCodeAt(0);
      const error = refusal(() => readVerifiedCsr(tampered));
      expect(error.problem).toBe('bad-signature');
    });

    it('refuses a CSR signed by another key than the one it carries', async () => {
      const a = await peculiarCsr();
      const b = await peculiarCsr();
      const parsedA = parseCsr(a.der);
      const parsedB = parseCsr(b.der);
      const error = refusal(() => verifyCsr({ ...parsedA, signature: parsedB.signature }));
      expect(error.problem).toBe('bad-signature');
      expect(error.message).toBe('invalid signature: the CSR is not signed by the key it contains');
    });
  });

  describe('when the algorithms are weak or unsupported', () => {
    it('refuses a SHA-1 signature', () => {
      const error = refusal(() => readVerifiedCsr(opensslCsrWith(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha1'])));
      expect(error.problem).toBe('unsupported');
      expect(error.message).toContain('ECDSA-SHA1 is too weak');
    });

    it('refuses an RSA key under 2048 bits', () => {
      const error = refusal(() => readVerifiedCsr(opensslCsrWith(['-newkey', 'rsa:1024'])));
      expect(error.problem).toBe('unsupported');
      expect(error.message).toContain('RSA key of 1024 bits is not accepted');
    });

    it('refuses a curve other than P-256/P-384/P-521', () => {
      const error = refusal(() => readVerifiedCsr(opensslCsrWith(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1'])));
      expect(error.problem).toBe('unsupported');
      expect(error.message).toContain('unsupported elliptic curve');
    });

    it('accepts Ed25519', () => {
      expect(readVerifiedCsr(opensslCsrWith(['-newkey', 'ed25519'])).publicKey.kind).toBe('ed25519');
    });
  });
});
