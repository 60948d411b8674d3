// Messages between the pool and its signing workers.
import type { CsrProblem } from '../x509/csr.js';

export interface WorkerJob {
  id: number;
  generation: number;
  csr: Uint8Array;
  uri: string;
  dnsNames: string[];
  notBefore: number;
  notAfter: number;
}

export interface WorkerResult {
  id: number;
  der?: Uint8Array;
  error?: { problem: CsrProblem | 'internal'; message: string };
}
