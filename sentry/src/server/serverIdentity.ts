// Sentry's own SVID for its TLS endpoint (spec §2.2): `spiffe://<td>/ns/<ns>/dapr-sentry`, no DNS names, issued
// by sentry's current issuer with a fresh P-256 key. Renewed at half its life and whenever the issuer or trust
// anchors change, so clients always see a server certificate that chains to the published roots.
import { generateKeyPairSync } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { SvidHolder, describeError, formatSpiffeId, type Logger, type SpiffeId, type Svid } from '@tapr/lib';
import type { CertificateAuthority, SigningIssuer } from '../ca/authority.js';
import { LeafSignerCache } from '../signing/signer.js';
import { encodePem } from '@tapr/lib/security/pem';
import type { SentryMetrics } from '../metrics.js';

export interface ServerIdentityOptions {
  authority: CertificateAuthority;
  id: SpiffeId;
  ttlMs: number;
  allowedClockSkewMs: number;
  metrics: SentryMetrics;
  logger: Logger;
}

export class ServerIdentity extends SvidHolder {
  readonly #signers = new LeafSignerCache();
  #renewTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ServerIdentityOptions) {
    super();
  }

  async run(signal: AbortSignal): Promise<void> {
    const issue = (issuer: SigningIssuer | undefined) => {
      if (issuer) this.#issue(issuer);
    };
    const unsubscribe = this.options.authority.subscribe(issue);
    issue(this.options.authority.current());
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    unsubscribe();
    clearTimeout(this.#renewTimer);
  }

  #issue(issuer: SigningIssuer): void {
    clearTimeout(this.#renewTimer);
    const { id, ttlMs, allowedClockSkewMs, logger } = this.options;
    try {
      const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const now = Date.now();
      const notAfter = new Date(Math.floor(Math.min(now + ttlMs, issuer.notAfter.getTime()) / 1000) * 1000);
      const der = this.#signers.get({ generation: issuer.generation, certDer: issuer.issuer.raw, keyPem: issuer.issuerKeyPem }).sign({
        publicKeyInfo: keys.publicKey.export({ format: 'der', type: 'spki' }),
        uri: formatSpiffeId(id),
        dnsNames: [],
        notBefore: new Date(Math.floor((now - allowedClockSkewMs) / 1000) * 1000),
        notAfter,
      });
      const svid: Svid = {
        id,
        certChainPem: encodePem('CERTIFICATE', der) + issuer.issuerChainPem,
        keyPem: keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        trustAnchorsPem: issuer.trustAnchorsPem,
        notBefore: new Date(new X509Certificate(der).validFrom),
        notAfter,
      };
      this.set(svid);
      const renewInMs = Math.max(1000, (notAfter.getTime() - now) / 2);
      this.#renewTimer = setTimeout(() => {
        const current = this.options.authority.current();
        if (current) this.#issue(current);
      }, renewInMs);
      this.#renewTimer.unref();
      logger.debug('issued sentry\'s own server certificate', { id: formatSpiffeId(id), expires: notAfter.toISOString() });
    } catch (error) {
      this.options.metrics.serverCertIssueFailed('ca_error');
      logger.error('cannot issue sentry\'s own server certificate', { error: describeError(error) });
    }
  }
}
