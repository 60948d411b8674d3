// A signing worker thread: receives batches of jobs (with the issuer they must be signed by) and answers each with
// the leaf DER or the reason its CSR was refused.
import { parentPort } from 'node:worker_threads';
import { CsrError } from '../x509/csr.js';
import { LeafSignerCache, signNow, type IssuerHandle } from './signer.js';
import type { WorkerJob, WorkerResult } from './workerProtocol.js';

const signers = new LeafSignerCache();
const issuers = new Map<number, IssuerHandle>();

parentPort?.on('message', (message: { issuers?: IssuerHandle[]; jobs?: WorkerJob[] }) => {
  for (const received of message.issuers ?? []) {
    const issuer = { ...received, certDer: Buffer.from(received.certDer) };
    issuers.set(issuer.generation, issuer);
    for (const generation of issuers.keys()) if (generation < issuer.generation - 1) issuers.delete(generation);
  }
  if (!message.jobs) return;
  const results: WorkerResult[] = message.jobs.map((job) => {
    const issuer = issuers.get(job.generation);
    if (!issuer) return { id: job.id, error: { problem: 'internal', message: `issuer generation ${job.generation} is unknown to the signing worker` } };
    try {
      const der = signNow(signers, { csr: job.csr, uri: job.uri, dnsNames: job.dnsNames, notBefore: new Date(job.notBefore), notAfter: new Date(job.notAfter) }, issuer);
      // Own buffer (Buffer.concat hands out slices of a shared 8 KiB pool, which a message would copy whole).
      return { id: job.id, der: new Uint8Array(der) };
    } catch (error) {
      if (error instanceof CsrError) return { id: job.id, error: { problem: error.problem, message: error.message } };
      return { id: job.id, error: { problem: 'internal', message: (error as Error).message } };
    }
  });
  parentPort?.postMessage(results, results.flatMap((r) => (r.der ? [r.der.buffer as ArrayBuffer] : [])));
});
