// Messages between the pool and its signing workers. A batch of jobs travels as one ArrayBuffer that is transferred,
// not copied, and so does the batch of results: a structured clone of an array of objects with strings and byte
// arrays costs the posting and the receiving thread several microseconds per job, a transfer costs almost nothing.
//
// Jobs:    id u32 · issuer generation u32 · notBefore f64 · notAfter f64 · uri (u32 length + UTF-8) ·
//          DNS name count u32 · each (u32 length + UTF-8) · CSR (u32 length + bytes)
// Results: id u32 · outcome u8 (0 signed, else a CsrProblem or internal) · u32 length · leaf DER or UTF-8 message
// Every length is 32 bits, so any request the gRPC server accepted (at most 1 MiB) fits: one odd request can never
// fail the batch it travels in.
import type { CsrProblem } from '../x509/csr.js';

export interface WorkerJob {
  id: number;
  generation: number;
  csr: Uint8Array;
  uri: string;
  dnsNames: readonly string[];
  notBefore: number;
  notAfter: number;
}

export type WorkerProblem = CsrProblem | 'internal';

export interface WorkerResult {
  id: number;
  der?: Uint8Array;
  error?: { problem: WorkerProblem; message: string };
}

/** What a pool posts to a worker: the packed jobs, with `issuers` when the batch needs ones the worker has not seen. */
export type WorkerRequest<Issuer> = ArrayBuffer | { issuers: Issuer[]; jobs: ArrayBuffer };

const problems: readonly WorkerProblem[] = ['malformed', 'unsupported', 'bad-signature', 'internal'];

/** Packs jobs into one buffer to transfer. */
export function encodeJobs(jobs: readonly WorkerJob[]): ArrayBuffer {
  let size = 0;
  for (const job of jobs) {
    size += 4 + 4 + 8 + 8 + 4 + Buffer.byteLength(job.uri) + 4 + 4 + job.csr.byteLength;
    for (const name of job.dnsNames) size += 4 + Buffer.byteLength(name);
  }
  const buffer = Buffer.allocUnsafeSlow(size);
  let at = 0;
  const putString = (value: string) => {
    const length = buffer.write(value, at + 4, 'utf8');
    buffer.writeUInt32LE(length, at);
    at += 4 + length;
  };
  for (const job of jobs) {
    at = buffer.writeUInt32LE(job.id, at);
    at = buffer.writeUInt32LE(job.generation, at);
    at = buffer.writeDoubleLE(job.notBefore, at);
    at = buffer.writeDoubleLE(job.notAfter, at);
    putString(job.uri);
    at = buffer.writeUInt32LE(job.dnsNames.length, at);
    for (const name of job.dnsNames) putString(name);
    at = buffer.writeUInt32LE(job.csr.byteLength, at);
    buffer.set(job.csr, at);
    at += job.csr.byteLength;
  }
  return buffer.buffer as ArrayBuffer;
}

/** The jobs in a received buffer; each CSR is a view into it. */
export function decodeJobs(received: ArrayBuffer): WorkerJob[] {
  const buffer = Buffer.from(received);
  const jobs: WorkerJob[] = [];
  let at = 0;
  const getString = () => {
    const length = buffer.readUInt32LE(at);
    at += 4 + length;
    return buffer.toString('utf8', at - length, at);
  };
  while (at < buffer.length) {
    const id = buffer.readUInt32LE(at);
    const generation = buffer.readUInt32LE(at + 4);
    const notBefore = buffer.readDoubleLE(at + 8);
    const notAfter = buffer.readDoubleLE(at + 16);
    at += 24;
    const uri = getString();
    const dnsNames: string[] = [];
    let count = buffer.readUInt32LE(at);
    at += 4;
    for (; count > 0; count--) dnsNames.push(getString());
    const csrLength = buffer.readUInt32LE(at);
    at += 4;
    jobs.push({ id, generation, notBefore, notAfter, uri, dnsNames, csr: buffer.subarray(at, at + csrLength) });
    at += csrLength;
  }
  return jobs;
}

/** Packs results into one buffer to transfer. */
export function encodeResults(results: readonly WorkerResult[]): ArrayBuffer {
  const messages = results.map((result) => (result.der ? undefined : Buffer.from(result.error?.message ?? 'signing worker returned nothing')));
  let size = 0;
  results.forEach((result, i) => (size += 9 + (result.der ?? (messages[i] as Buffer)).byteLength));
  const buffer = Buffer.allocUnsafeSlow(size);
  let at = 0;
  results.forEach((result, i) => {
    const body = result.der ?? (messages[i] as Buffer);
    at = buffer.writeUInt32LE(result.id, at);
    at = buffer.writeUInt8(result.der ? 0 : 1 + problems.indexOf(result.error?.problem ?? 'internal'), at);
    at = buffer.writeUInt32LE(body.byteLength, at);
    buffer.set(body, at);
    at += body.byteLength;
  });
  return buffer.buffer as ArrayBuffer;
}

/** Calls `each` for every result in a received buffer; a leaf DER is a view into the buffer. */
export function decodeResults(received: ArrayBuffer, each: (result: WorkerResult) => void): void {
  const buffer = Buffer.from(received);
  for (let at = 0; at < buffer.length; ) {
    const id = buffer.readUInt32LE(at);
    const outcome = buffer.readUInt8(at + 4);
    const length = buffer.readUInt32LE(at + 5);
    at += 9;
    const body = buffer.subarray(at, at + length);
    at += length;
    if (outcome === 0) each({ id, der: body });
    else each({ id, error: { problem: problems[outcome - 1] ?? 'internal', message: body.toString('utf8') } });
  }
}
