// The webhook's serving certificate and the CA bundle the API server must trust for it. Two sources:
//   sentry       — the injector's SVID (DNS name dapr-sidecar-injector.<ns>.svc) from sentry; the bundle is the
//                  trust anchors file (as Dapr: caBundle = the roots, which also covers root rotation);
//   self-managed — a CA the injector keeps in a Secret (selfManagedCertificate.ts), for clusters without sentry.
import type { SvidSource } from '@tapr/lib';

export interface ServingCertificate {
  /** PEM: leaf first, then any intermediates. */
  certChainPem: string;
  keyPem: string;
  /** PEM of the CA(s) that verify `certChainPem`: the MutatingWebhookConfiguration's caBundle. */
  caBundlePem: string;
}

export interface ServingCertificateSource {
  current(): ServingCertificate | undefined;
  ready(signal: AbortSignal): Promise<ServingCertificate>;
  /** Called on every change of the certificate or the bundle; returns the unsubscribe function. */
  subscribe(listener: (certificate: ServingCertificate) => void): () => void;
}

/** Holds the current certificate and notifies listeners; the two sources build on it. */
export class CertificateHolder implements ServingCertificateSource {
  #current: ServingCertificate | undefined;
  readonly #listeners = new Set<(certificate: ServingCertificate) => void>();

  current(): ServingCertificate | undefined {
    return this.#current;
  }

  ready(signal: AbortSignal): Promise<ServingCertificate> {
    if (this.#current) return Promise.resolve(this.#current);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        unsubscribe();
        reject(new Error('stopped before a serving certificate was available', { cause: signal.reason }));
      };
      const unsubscribe = this.subscribe((certificate) => {
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
        resolve(certificate);
      });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  subscribe(listener: (certificate: ServingCertificate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  protected set(certificate: ServingCertificate): void {
    const previous = this.#current;
    if (
      previous &&
      previous.certChainPem === certificate.certChainPem &&
      previous.keyPem === certificate.keyPem &&
      previous.caBundlePem === certificate.caBundlePem
    ) {
      return;
    }
    this.#current = certificate;
    for (const listener of [...this.#listeners]) listener(certificate);
  }
}

/** Serves the SVID; the CA bundle follows the trust anchors (which change before and after a root rotation). */
export class SvidServingCertificates extends CertificateHolder {
  constructor(svids: SvidSource, trustAnchors: { current(): string; subscribe(listener: (pem: string) => void): () => void }) {
    super();
    const update = () => {
      const svid = svids.current();
      if (svid) this.set({ certChainPem: svid.certChainPem, keyPem: svid.keyPem, caBundlePem: trustAnchors.current() });
    };
    svids.subscribe(update);
    trustAnchors.subscribe(update);
    update();
  }
}
