// CSRs for tests, made the ways sentry's clients make them: OpenSSL's command line (EC P-256 and RSA) and
// @peculiar/x509 (what our own services use), plus a key pair to check the issued certificate against.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface TestCsr {
  pem: string;
  der: Buffer;
  privateKey: KeyObject;
  publicKeyInfo: Buffer;
}

/** A CSR made by the `openssl` binary; `subject` and SANs are filled in to show sentry ignores them. */
export function opensslCsr(kind: 'ec' | 'rsa' | 'ec-p384'): TestCsr {
  const dir = mkdtempSync(path.join(tmpdir(), 'csr-'));
  try {
    const keyArgs = {
      ec: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      'ec-p384': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
      rsa: ['-newkey', 'rsa:2048'],
    }[kind];
    const result = spawnSync(
      'openssl',
      ['req', '-new', ...keyArgs, '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'csr.pem'),
        '-subj', '/CN=attacker/O=evil', '-addext', 'subjectAltName=URI:spiffe://public/ns/kube-system/admin'],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`openssl req failed: ${result.stderr}`);
    const pem = readFileSync(path.join(dir, 'csr.pem'), 'utf8');
    const privateKey = createPrivateKey(readFileSync(path.join(dir, 'key.pem')));
    return fromPem(pem, privateKey);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A CSR made with @peculiar/x509 and WebCrypto: ECDSA P-256, empty subject, like daprd's. */
export async function peculiarCsr(): Promise<TestCsr> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: alg });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return fromPem(csr.toString('pem'), createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
}

function fromPem(pem: string, privateKey: KeyObject): TestCsr {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const publicKeyInfo = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { pem, der, privateKey, publicKeyInfo };
}
