// Runs the compiled worker (sentry/dist): build first with `npx tsc -b sentry` (npm test does).
import { X509Certificate } from 'node:crypto';
import { silentLogger } from '@tapr/lib';
import { WorkerPoolSigner } from './workerPoolSigner.js';
import { generateBundle } from '../ca/rotationSteps.js';
import { CsrError } from '../x509/csr.js';
import { peculiarCsr, opensslCsr } from '../testing/csr.js';
import type { IssuerHandle } from './signer.js';

const workerScript = new URL('../../dist/src/signing/signWorker.js', import.meta.url);
const policy = { rootTtlMs: 3_600_000, issuerTtlMs: 3_600_000, allowedClockSkewMs: 0, workloadCertTtlMs: 60_000, pollIntervalMs: 1000 };

async function issuer(generation: number): Promise<IssuerHandle & { cert: X509Certificate }> {
  const material = await generateBundle({ trustDomain: 'cluster.local', namespace: 'dapr-system', now: new Date(), policy });
  const cert = new X509Certificate(material.issuerChain);
  return { generation, certDer: cert.raw, keyPem: material.issuerKey, cert };
}

describe('WorkerPoolSigner', () => {
  let pool: WorkerPoolSigner;
  beforeAll(() => {
    pool = new WorkerPoolSigner({ size: 2, logger: silentLogger(), workerScript });
  });
  afterAll(() => pool.close());

  const job = (csr: string | Buffer, uri = 'spiffe://public/ns/a/b') => ({ csr: Buffer.from(csr), uri, dnsNames: [], notBefore: new Date(), notAfter: new Date(Date.now() + 60_000) });

  describe('when many jobs for two issuers are in flight at once', () => {
    it('signs each with the issuer it names', async () => {
      const [first, second] = await Promise.all([issuer(1), issuer(2)]);
      const csrs = await Promise.all(Array.from({ length: 20 }, () => peculiarCsr()));
      const results = await Promise.all(csrs.map((csr, i) => pool.sign(job(csr.pem, `spiffe://public/ns/a/app${i}`), i % 2 ? (second as IssuerHandle) : (first as IssuerHandle))));
      results.forEach((der, i) => {
        const leaf = new X509Certificate(der);
        const by = i % 2 ? (second as { cert: X509Certificate }).cert : (first as { cert: X509Certificate }).cert;
        expect(leaf.verify(by.publicKey)).toBe(true);
        expect(leaf.subjectAltName).toBe(`URI:spiffe://public/ns/a/app${i}`);
        expect(leaf.publicKey.export({ format: 'der', type: 'spki' }).equals(csrs[i]?.publicKeyInfo as Buffer)).toBe(true);
      });
    });
  });

  describe('when a CSR is refused in the worker', () => {
    it('rejects with the CsrError and its problem, and keeps serving', async () => {
      const handle = await issuer(3);
      await expect(pool.sign(job('not a csr'), handle)).rejects.toMatchObject({ problem: 'malformed' });
      await expect(pool.sign(job('not a csr'), handle)).rejects.toBeInstanceOf(CsrError);
      const der = await pool.sign(job(opensslCsr('rsa').pem), handle);
      expect(new X509Certificate(der).verify(handle.cert.publicKey)).toBe(true);
    });
  });
});

describe('WorkerPoolSigner between bursts', () => {
  const job = (csr: string | Buffer) => ({ csr: Buffer.from(csr), uri: 'spiffe://public/ns/a/b', dnsNames: [], notBefore: new Date(), notAfter: new Date(Date.now() + 60_000) });
  const until = async (condition: () => boolean) => {
    for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    return condition();
  };

  describe('when no job has come yet', () => {
    it('runs no worker', () => {
      const pool = new WorkerPoolSigner({ size: 2, logger: silentLogger(), workerScript });
      expect(pool.workers).toBe(0);
      return pool.close();
    });
  });

  describe('when the first job comes', () => {
    it('signs it at once while the workers start, and stops them after idleMs without jobs; the next job starts them again', async () => {
      // Lone jobs are signed here when the workers are idle (next test); this one looks at the workers themselves.
      const pool = new WorkerPoolSigner({ size: 2, logger: silentLogger(), workerScript, idleMs: 300, inlineLoneJobs: false });
      try {
        const handle = await issuer(1);
        const csr = await peculiarCsr();
        const first = await pool.sign(job(csr.pem), handle);
        expect(new X509Certificate(first).verify(handle.cert.publicKey)).toBe(true);
        expect([pool.workers, pool.signedHere]).toEqual([2, 1]);
        expect(await until(() => pool.onlineWorkers === 2)).toBe(true);
        const byWorker = await pool.sign(job(csr.pem), handle);
        expect(new X509Certificate(byWorker).verify(handle.cert.publicKey)).toBe(true);
        expect(pool.signedHere).toBe(1);
        expect(await until(() => pool.workers === 0)).toBe(true);
        const again = await pool.sign(job(csr.pem), handle);
        expect(new X509Certificate(again).verify(handle.cert.publicKey)).toBe(true);
        expect(pool.workers).toBe(2);
      } finally {
        await pool.close();
      }
    });
  });
});

describe('WorkerPoolSigner with idle workers', () => {
  const job = (csr: string | Buffer) => ({ csr: Buffer.from(csr), uri: 'spiffe://public/ns/a/b', dnsNames: [], notBefore: new Date(), notAfter: new Date(Date.now() + 60_000) });

  describe('when a job comes alone', () => {
    it('signs it on this thread (no thread hops), and sends jobs that come together to the workers', async () => {
      const pool = new WorkerPoolSigner({ size: 2, logger: silentLogger(), workerScript });
      try {
        const handle = await issuer(1);
        const csrs = await Promise.all(Array.from({ length: 6 }, () => peculiarCsr()));
        await pool.sign(job(csrs[0]?.pem as string), handle); // starts the workers; signed here meanwhile
        for (let i = 0; i < 500 && pool.onlineWorkers < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(pool.onlineWorkers).toBe(2);

        const lone = await pool.sign(job(csrs[1]?.pem as string), handle);
        expect(new X509Certificate(lone).verify(handle.cert.publicKey)).toBe(true);
        expect(pool.signedHere).toBe(2);

        const together = await Promise.all(csrs.slice(2).map((csr) => pool.sign(job(csr.pem), handle)));
        together.forEach((der, i) => {
          const leaf = new X509Certificate(der);
          expect(leaf.verify(handle.cert.publicKey)).toBe(true);
          expect(leaf.publicKey.export({ format: 'der', type: 'spki' }).equals(csrs[i + 2]?.publicKeyInfo as Buffer)).toBe(true);
        });
        expect(pool.signedHere).toBe(2);
      } finally {
        await pool.close();
      }
    });
  });

  describe('when a lone job is refused', () => {
    it('rejects it with the CsrError, as a worker would', async () => {
      const pool = new WorkerPoolSigner({ size: 1, logger: silentLogger(), workerScript });
      try {
        const handle = await issuer(1);
        await expect(pool.sign(job('not a csr'), handle)).rejects.toMatchObject({ problem: 'malformed' });
        for (let i = 0; i < 500 && pool.onlineWorkers < 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
        await expect(pool.sign(job('not a csr'), handle)).rejects.toBeInstanceOf(CsrError);
        expect(pool.signedHere).toBe(2);
      } finally {
        await pool.close();
      }
    });
  });
});

describe('WorkerPoolSigner when closed', () => {
  it('rejects jobs still waiting, and new ones', async () => {
    const pool = new WorkerPoolSigner({ size: 1, logger: silentLogger(), workerScript });
    const handle = await issuer(1);
    const csrs = await Promise.all(Array.from({ length: 3 }, () => peculiarCsr()));
    await pool.sign({ csr: Buffer.from(csrs[0]?.pem as string), uri: 'spiffe://public/ns/a/b', dnsNames: [], notBefore: new Date(), notAfter: new Date(Date.now() + 60_000) }, handle);
    for (let i = 0; i < 500 && pool.onlineWorkers < 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const waiting = csrs.map((csr) => pool.sign({ csr: Buffer.from(csr.pem), uri: 'spiffe://public/ns/a/b', dnsNames: [], notBefore: new Date(), notAfter: new Date(Date.now() + 60_000) }, handle));
    const settled = Promise.allSettled(waiting);
    await pool.close(); // before the queue is flushed to the worker (at the end of this event-loop turn)
    expect((await settled).map((outcome) => outcome.status === 'rejected' && (outcome.reason as Error).message)).toEqual(Array(3).fill('the signer is closed'));
    await expect(pool.sign({ csr: Buffer.from(csrs[0]?.pem as string), uri: 'spiffe://public/ns/a/b', dnsNames: [], notBefore: new Date(), notAfter: new Date() }, handle)).rejects.toThrow('the signer is closed');
  });
});

describe('WorkerPoolSigner without a compiled worker', () => {
  it('says how to fix it', () => {
    expect(() => new WorkerPoolSigner({ size: 1, logger: silentLogger(), workerScript: new URL('file:///nonexistent/signWorker.js') })).toThrow(
      'signing worker /nonexistent/signWorker.js not found (build sentry with tsc, or run with --signing-workers=0)',
    );
  });
});
