// An SVID (SPIFFE Verifiable Identity Document): the X.509 certificate chain and key a process presents in
// mutual TLS, plus the trust anchors that verify its peers. Sources hand out the current one and announce
// rotations, so servers and clients pick up renewed certificates without restarting.
import type { SpiffeId } from './spiffe.js';

export interface Svid {
  id: SpiffeId;
  /** PEM: the leaf first, then the issuer chain. */
  certChainPem: string;
  /** PEM PKCS#8 (`PRIVATE KEY`). */
  keyPem: string;
  /** PEM: the root(s) this SVID chains to, used to verify peers. */
  trustAnchorsPem: string;
  notBefore: Date;
  notAfter: Date;
}

export interface SvidSource {
  current(): Svid | undefined;
  /** Resolves with the first SVID available (at once when there is one); rejects when `signal` aborts first. */
  ready(signal?: AbortSignal): Promise<Svid>;
  /** Called with every new SVID; returns the function that unsubscribes. */
  subscribe(listener: (svid: Svid) => void): () => void;
}

/** Keeps the current SVID and its listeners; sources (static, sentry-backed) build on it. */
export class SvidHolder implements SvidSource {
  #svid: Svid | undefined;
  readonly #listeners = new Set<(svid: Svid) => void>();

  constructor(svid?: Svid) {
    this.#svid = svid;
  }

  current(): Svid | undefined {
    return this.#svid;
  }

  ready(signal?: AbortSignal): Promise<Svid> {
    if (this.#svid) return Promise.resolve(this.#svid);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        unsubscribe();
        reject(new Error('stopped before an SVID was available', { cause: signal?.reason }));
      };
      const unsubscribe = this.subscribe((svid) => {
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        resolve(svid);
      });
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  subscribe(listener: (svid: Svid) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Installs a new SVID and tells every listener. */
  set(svid: Svid): void {
    this.#svid = svid;
    for (const listener of [...this.#listeners]) listener(svid);
  }
}

/** An SVID given from outside (files, tests); `set` rotates it. */
export class StaticSvidSource extends SvidHolder {}
