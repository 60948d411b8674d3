import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CsrError, csrDer, parseCsr, readVerifiedCsr, verifyCsr } from './csr.js';
import { decodePemBlocks, encodePem } from '@tapr/lib/security/pem';
import { Tag, encodeOid, sequence, tlv } from '@tapr/lib/security/der';
import { opensslCsr, peculiarCsr } from '../testing/csr.js';

async function refusal(fn: () => unknown): Promise<CsrError> {
  try {
    await fn();
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

/** A P-256 CSR whose public key is a compressed point (allowed by RFC 5480; OpenSSL's CLI never writes one). */
function compressedPointCsr(): { der: Buffer; spki: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const y = Buffer.from(jwk.y as string, 'base64url');
  const point = Buffer.concat([Uint8Array.of(0x02 | ((y[31] as number) & 1)), Buffer.from(jwk.x as string, 'base64url')]);
  const spki = sequence(sequence(encodeOid('1.2.840.10045.2.1'), encodeOid('1.2.840.10045.3.1.7')), tlv(Tag.bitString, Uint8Array.of(0), point));
  const info = sequence(Uint8Array.of(Tag.integer, 1, 0), sequence(), spki, tlv(0xa0));
  const signature = sign('sha256', info, privateKey);
  return { der: sequence(info, sequence(encodeOid('1.2.840.10045.4.3.2')), tlv(Tag.bitString, Uint8Array.of(0), signature)), spki };
}

describe('reading a CSR', () => {
  describe('when it is well formed and self-signed', () => {
    it.each([
      ['openssl EC P-256', () => opensslCsr('ec')],
      ['openssl RSA 2048', () => opensslCsr('rsa')],
    ])('accepts the %s CSR and returns its public key', async (_name, make) => {
      const csr = make();
      const parsed = await readVerifiedCsr(Buffer.from(csr.pem));
      expect(parsed.publicKey.der.equals(csr.publicKeyInfo)).toBe(true);
    });

    it('accepts a CSR made with @peculiar/x509 (our own services) as PEM, as legacy "CERTIFICATE" PEM and as DER', async () => {
      const csr = await peculiarCsr();
      expect((await readVerifiedCsr(Buffer.from(csr.pem))).publicKey.kind).toBe('ec');
      expect((await readVerifiedCsr(Buffer.from(encodePem('CERTIFICATE', csr.der)))).publicKey.curve).toBe('P-256');
      expect((await readVerifiedCsr(csr.der)).publicKey.der.equals(csr.publicKeyInfo)).toBe(true);
    });

    it.each([
      ['P-384', 'ec_paramgen_curve:P-384'],
      ['P-521', 'ec_paramgen_curve:P-521'],
    ])('accepts an EC %s CSR', async (curve, option) => {
      expect((await readVerifiedCsr(opensslCsrWith(['-newkey', 'ec', '-pkeyopt', option]))).publicKey.curve).toBe(curve);
    });

    it('accepts an EC key given as a compressed point and certifies it as sent', async () => {
      const csr = compressedPointCsr();
      expect((await readVerifiedCsr(csr.der)).publicKey.der.equals(csr.spki)).toBe(true);
    });

    it('takes the first PEM block and ignores text around it, as Go does', async () => {
      const csr = await peculiarCsr();
      await expect(readVerifiedCsr(Buffer.from(`some text\n${csr.pem}\ntrailing`))).resolves.toBeDefined();
    });
  });

  describe('when the PEM is plain or has something around it', () => {
    // csrDer reads a plain single PEM block straight from the bytes; every variant must give what the general
    // decoder gives (the same DER, or the same refusal).
    const variants = (pem: string): Array<[string, string]> => {
      const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
      const wrap = (text: string, width: number) => text.match(new RegExp(`.{1,${width}}`, 'g'))?.join('\n') ?? '';
      const block = (inner: string, eol = '\n') => `-----BEGIN CERTIFICATE REQUEST-----${eol}${inner}${eol}-----END CERTIFICATE REQUEST-----`;
      return [
        ['as written', pem],
        ['without the final newline', pem.trimEnd()],
        ['with CRLF line breaks', block(wrap(body, 64).replace(/\n/g, '\r\n'), '\r\n') + '\r\n'],
        ['on one line', block(body)],
        ['in 76-character lines', block(wrap(body, 76))],
        ['with blank lines in the body', block(wrap(body, 64).replace(/\n/, '\n\n'))],
        ['with spaces in the body', block(wrap(body, 64).replace(/\n/g, ' \n'))],
        ['with a second block after it', `${pem}${pem}`],
        ['with two newlines after it', `${pem}\n`],
        ['with text after it', `${pem}x`],
        ['with a header', block(`Proc-Type: 4,ENCRYPTED\n\n${wrap(body, 64)}`)],
        ['with padding inside the body', block(`${body.slice(0, 8)}==${body.slice(8)}`)],
        ['with a character outside base64', block(`${body.slice(0, 8)}*${body.slice(8)}`)],
        ['with an empty body', block('')],
        ['with a mismatched END line', `${block(body).replace('END CERTIFICATE REQUEST', 'END CERTIFICATE')}\n`],
        ['with a BEGIN line not followed by a newline', block(body).replace('-----\n', '----- ')],
      ];
    };
    const general = (input: Buffer): string => {
      try {
        const first = decodePemBlocks(input)[0];
        return first ? `${first.type} ${first.der.toString('hex')}` : 'none';
      } catch (error) {
        return `error ${(error as Error).message}`;
      }
    };
    const lean = (input: Buffer): string => {
      try {
        return `CERTIFICATE REQUEST ${csrDer(input).toString('hex')}`;
      } catch (error) {
        return `error ${(error as Error).message}`;
      }
    };

    it('returns what the general PEM decoder returns, for every variant', async () => {
      const csr = await peculiarCsr();
      for (const [name, text] of variants(csr.pem)) {
        const input = Buffer.from(text);
        const expected = general(input);
        const got = lean(input);
        if (expected.startsWith('CERTIFICATE REQUEST')) expect([name, got]).toEqual([name, expected]);
        else expect([name, got.startsWith('error')]).toEqual([name, true]);
      }
      expect(lean(Buffer.from(csr.pem))).toBe(`CERTIFICATE REQUEST ${csr.der.toString('hex')}`);
    });
  });

  describe('when the input is not a CSR', () => {
    it.each([
      ['empty', Buffer.alloc(0), 'invalid certificate signing request: empty'],
      ['a private key PEM', Buffer.from('-----BEGIN PRIVATE KEY-----\nMC4CAQBLAHBLAH\n-----END PRIVATE KEY-----'), 'PEM block type is "PRIVATE KEY"'],
      ['plain text', Buffer.from('hello'), 'neither a PEM block nor DER'],
      ['truncated DER', Buffer.from([0x30, 0x82, 0x01, 0x00, 0x30]), 'truncated CertificationRequest'],
      ['DER with a long-form length that is not minimal', Buffer.from([0x30, 0x81, 0x05, 1, 2, 3, 4, 5]), 'non-minimal length'],
    ])('refuses %s as malformed, saying why', async (_name, input, message) => {
      const error = await refusal(() => readVerifiedCsr(input));
      expect(error.problem).toBe('malformed');
      expect(error.message).toContain(message);
    });

    it('refuses a certificate request with trailing bytes', async () => {
      const csr = await peculiarCsr();
      const error = await refusal(() => parseCsr(Buffer.concat([csr.der, Buffer.from([0])])));
      expect(error.problem).toBe('malformed');
    });
  });

  describe('when the public key is not a point on its curve', () => {
    it('refuses the CSR as malformed before checking the signature', async () => {
      const csr = opensslCsr('ec');
      const offCurve = Buffer.from(csr.der);
      // The SPKI ends with the point's y coordinate; a changed last byte leaves a point that is not on P-256.
      const yEnd = csr.der.indexOf(csr.publicKeyInfo) + csr.publicKeyInfo.length - 1;
      offCurve[yEnd] = (offCurve[yEnd] as number) ^ 0x01;
      const error = await refusal(() => readVerifiedCsr(offCurve));
      expect(error.problem).toBe('malformed');
      expect(error.message).toContain('invalid public key');
    });
  });

  describe('when the signature does not match', () => {
    it('refuses a CSR whose signed part was altered', async () => {
      const csr = opensslCsr('ec');
      const tampered = Buffer.from(csr.der);
      // The subject is inside the signed part; changing one letter keeps the DER valid and breaks the signature.
      const at = tampered.indexOf('attacker');
      tampered[at] = 'A'.charCodeAt(0);
      const error = await refusal(() => readVerifiedCsr(tampered));
      expect(error.problem).toBe('bad-signature');
    });

    it('refuses a CSR signed by another key than the one it carries', async () => {
      const a = await peculiarCsr();
      const b = await peculiarCsr();
      const parsedA = parseCsr(a.der);
      const parsedB = parseCsr(b.der);
      const error = await refusal(() => verifyCsr({ ...parsedA, signature: parsedB.signature }));
      expect(error.problem).toBe('bad-signature');
      expect(error.message).toBe('invalid signature: the CSR is not signed by the key it contains');
    });
  });

  describe('when the algorithms are weak or unsupported', () => {
    it('refuses a SHA-1 signature', async () => {
      const error = await refusal(() => readVerifiedCsr(opensslCsrWith(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha1'])));
      expect(error.problem).toBe('unsupported');
      expect(error.message).toContain('ECDSA-SHA1 is too weak');
    });

    it('refuses an RSA key under 2048 bits', async () => {
      const error = await refusal(() => readVerifiedCsr(opensslCsrWith(['-newkey', 'rsa:1024'])));
      expect(error.problem).toBe('unsupported');
      expect(error.message).toContain('RSA key of 1024 bits is not accepted');
    });

    it('refuses a curve other than P-256/P-384/P-521', async () => {
      const error = await refusal(() => readVerifiedCsr(opensslCsrWith(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1'])));
      expect(error.problem).toBe('unsupported');
      expect(error.message).toContain('unsupported elliptic curve');
    });

    it('accepts Ed25519', async () => {
      expect((await readVerifiedCsr(opensslCsrWith(['-newkey', 'ed25519']))).publicKey.kind).toBe('ed25519');
    });
  });
});
