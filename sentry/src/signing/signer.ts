// Signing a CSR into a workload certificate: verify the CSR, then issue the leaf with the lean signer. Two
// implementations: in this thread, or spread over worker threads so the gRPC/TLS event loop keeps one core while
// key import, signature check and signing (~150 µs a certificate) run on the others.
import { createPrivateKey } from 'node:crypto';
import { LeafSigner } from '../x509/leafSigner.js';
import { readVerifiedCsr } from '../x509/csr.js';

export interface IssuerHandle {
  /** Identifies the issuer; a new one gets a higher number. */
  generation: number;
  certDer: Buffer;
  keyPem: string;
}

export interface SignJob {
  /** The CSR as sent (PEM or DER). */
  csr: Uint8Array;
  uri: string;
  dnsNames: string[];
  notBefore: Date;
  notAfter: Date;
}

export interface Signer {
  /** The leaf DER, or a CsrError when the CSR is refused. */
  sign(job: SignJob, issuer: IssuerHandle): Promise<Buffer>;
  close(): Promise<void>;
}

/** Keeps LeafSigners for the latest issuers (an in-flight request may still use the previous one). */
export class LeafSignerCache {
  readonly #signers = new Map<number, LeafSigner>();

  get(issuer: IssuerHandle): LeafSigner {
    let signer = this.#signers.get(issuer.generation);
    if (!signer) {
      signer = new LeafSigner(issuer.certDer, createPrivateKey(issuer.keyPem));
      this.#signers.set(issuer.generation, signer);
      for (const generation of this.#signers.keys()) if (generation < issuer.generation - 1) this.#signers.delete(generation);
    }
    return signer;
  }
}

/** Everything on the calling thread. */
export class InlineSigner implements Signer {
  readonly #signers = new LeafSignerCache();

  sign(job: SignJob, issuer: IssuerHandle): Promise<Buffer> {
    return signNow(this.#signers, job, issuer);
  }

  async close(): Promise<void> {}
}

export async function signNow(signers: LeafSignerCache, job: SignJob, issuer: IssuerHandle): Promise<Buffer> {
  const csr = await readVerifiedCsr(job.csr);
  return signers.get(issuer).sign({
    publicKeyInfo: csr.publicKey.der,
    uri: job.uri,
    dnsNames: job.dnsNames,
    notBefore: job.notBefore,
    notAfter: job.notAfter,
  });
}
