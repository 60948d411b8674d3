// A signing worker thread: receives batches of jobs (with the issuers they must be signed by, the first time a
// batch needs one) and answers each batch with one buffer holding every leaf DER or the reason its CSR was refused.
import { parentPort } from 'node:worker_threads';
import { CsrError } from '../x509/csr.js';
import { LeafSignerCache, signNow, type IssuerHandle } from './signer.js';
import { decodeJobs, encodeResults, type WorkerJob, type WorkerRequest, type WorkerResult } from './workerProtocol.js';

const signers = new LeafSignerCache();
const issuers = new Map<number, IssuerHandle>();

async function signJob(job: WorkerJob): Promise<WorkerResult> {
  const issuer = issuers.get(job.generation);
  if (!issuer) return { id: job.id, error: { problem: 'internal', message: `issuer generation ${job.generation} is unknown to the signing worker` } };
  try {
    const der = await signNow(signers, { csr: job.csr, uri: job.uri, dnsNames: job.dnsNames as string[], notBefore: new Date(job.notBefore), notAfter: new Date(job.notAfter) }, issuer);
    return { id: job.id, der };
  } catch (error) {
    if (error instanceof CsrError) return { id: job.id, error: { problem: error.problem, message: error.message } };
    return { id: job.id, error: { problem: 'internal', message: (error as Error).message } };
  }
}

parentPort?.on('message', (message: WorkerRequest<IssuerHandle>) => {
  if (message instanceof ArrayBuffer) {
    signBatch(message);
    return;
  }
  for (const received of message.issuers) {
    const issuer = { ...received, certDer: Buffer.from(received.certDer) };
    issuers.set(issuer.generation, issuer);
    for (const generation of issuers.keys()) if (generation < issuer.generation - 1) issuers.delete(generation);
  }
  signBatch(message.jobs);
});

function signBatch(jobs: ArrayBuffer): void {
  void Promise.all(decodeJobs(jobs).map(signJob)).then((results) => {
    const packed = encodeResults(results);
    parentPort?.postMessage(packed, [packed]);
  });
}
