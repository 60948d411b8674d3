// @peculiar/x509 for the rare jobs that need a general X.509 library (making CA and self-managed certificates),
// loaded on first use: with reflect-metadata it costs about 10 MiB of RSS, which a service that never makes a
// certificate should not carry. The CSRs and leaves made on hot paths use node:crypto and der.ts instead.
import { webcrypto } from 'node:crypto';

export type X509Module = typeof import('@peculiar/x509');

let loading: Promise<X509Module> | undefined;

/** The @peculiar/x509 module, set up with Node's WebCrypto. */
export function loadX509(): Promise<X509Module> {
  loading ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<X509Module['cryptoProvider']['set']>[0]);
    return x509;
  })();
  return loading;
}
