// The client every tapr service uses to get its SVID from sentry, as daprd's security package does (spec §2.4,
// §2.7): a fresh ECDSA P-256 key and an empty PEM CSR per request, `SignCertificate` over TLS that accepts only
// sentry's SPIFFE ID, renewal at half the certificate's life, a retry every 10 s on failure. Each attempt dials a
// new channel, so a rotated trust-anchors file applies to the next attempt; the SVID is re-announced when the
// trust anchors change, so servers verify peers with the current roots.
import * as grpc from '@grpc/grpc-js';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SvidHolder, type Svid, type SvidSource } from './svid.js';
import { grpcClientChannelOptions, grpcClientCredentials } from './grpcTls.js';
import { controlPlaneId, formatSpiffeId, spiffeIdFromSubjectAltName, type ControlPlaneService, type SpiffeId } from './spiffe.js';
import { describeError, type Logger } from '../logger.js';
import * as protos from '../protos.js';
import { createCsr } from './csr.js';
import { setTimeout as delay } from 'node:timers/promises';

export { createCsr };

export type SentryTokenValidator = 'KUBERNETES' | 'INSECURE' | 'JWKS';

export interface SentrySvidSourceOptions {
  /** host:port of sentry, e.g. `dapr-sentry.dapr-system.svc.cluster.local:443`. */
  sentryAddress: string;
  /** The roots that verify sentry (and, in the SVID, peers); read at every attempt. */
  trustAnchors: () => string;
  /** Sentry's trust domain: sentry must present `spiffe://<trustDomain>/ns/<controlPlaneNamespace>/dapr-sentry`. */
  trustDomain: string;
  controlPlaneNamespace: string;
  /** The identity asked for (`SENTRY_LOCAL_IDENTITY` overrides it in Dapr; callers pass that in). */
  id: string;
  namespace: string;
  /** Only control-plane services send one (their trust domain); apps leave it out. */
  requestTrustDomain?: string;
  /** The token proving the identity (a service-account token for KUBERNETES); read at every attempt. */
  token?: () => Promise<string> | string;
  /** Unset: sentry's default validator. */
  validator?: SentryTokenValidator;
  logger: Logger;
  /** Pause after a failed attempt (Dapr: 10 s). */
  retryMs?: number;
  /** Deadline of one SignCertificate call. */
  requestTimeoutMs?: number;
  /** How often the trust anchors are compared with the SVID's. */
  anchorsCheckMs?: number;
}

const validatorValues: Record<SentryTokenValidator, number> = { INSECURE: 1, KUBERNETES: 2, JWKS: 3 };

type Request = InstanceType<typeof protos.sentry.SignCertificateRequest>;
type Response = InstanceType<typeof protos.sentry.SignCertificateResponse>;
interface CaClient extends grpc.Client {
  signCertificate(
    request: Request,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: Response) => void,
  ): grpc.ClientUnaryCall;
}
// Built with this package's grpc-js (not the copy the generated client would load), so the credentials fit.
const CaClient = grpc.makeClientConstructor(protos.sentryGrpc.CAService as unknown as grpc.ServiceDefinition, 'CA') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => CaClient;

export class SentrySvidSource extends SvidHolder implements SvidSource {
  readonly #sentryId: SpiffeId;

  constructor(private readonly options: SentrySvidSourceOptions) {
    super();
    this.#sentryId = controlPlaneId('sentry', options.trustDomain, options.controlPlaneNamespace);
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger } = this.options;
    const anchorsTimer = setInterval(() => this.#refreshAnchors(), this.options.anchorsCheckMs ?? 5000);
    anchorsTimer.unref();
    try {
      while (!signal.aborted) {
        let waitMs: number;
        try {
          const svid = await this.fetch(signal);
          this.set(svid);
          const life = svid.notAfter.getTime() - svid.notBefore.getTime();
          waitMs = Math.max(1000, svid.notBefore.getTime() + life / 2 - Date.now());
          logger.info('obtained an SVID from sentry', {
            id: formatSpiffeId(svid.id),
            expires: svid.notAfter.toISOString(),
            renewIn: `${Math.round(waitMs / 1000)}s`,
          });
        } catch (error) {
          if (signal.aborted) break;
          waitMs = this.options.retryMs ?? 10_000;
          logger.warn('cannot obtain an SVID from sentry; retrying', { sentry: this.options.sentryAddress, error: describeError(error), retryInMs: waitMs });
        }
        await sleep(waitMs, signal);
      }
    } finally {
      clearInterval(anchorsTimer);
    }
  }

  /** One SignCertificate round trip: a new key, a CSR, the call, and checks on what came back. */
  async fetch(signal?: AbortSignal): Promise<Svid> {
    const { options } = this;
    const { csrPem, keyPem } = await createCsr();
    const request = new protos.sentry.SignCertificateRequest();
    request.setId(options.id);
    request.setNamespace(options.namespace);
    request.setCertificateSigningRequest(Buffer.from(csrPem));
    if (options.requestTrustDomain) request.setTrustDomain(options.requestTrustDomain);
    if (options.token) request.setToken(await options.token());
    if (options.validator) request.setTokenValidator(validatorValues[options.validator] as 0);
    const anchors = options.trustAnchors();
    const response = await this.#call(request, anchors, signal);
    return this.#toSvid(response, keyPem, anchors);
  }

  #call(request: Request, anchors: string, signal?: AbortSignal): Promise<Response> {
    const credentials = grpcClientCredentials({ trustAnchorsPem: () => anchors, serverId: this.#sentryId });
    const client = new CaClient(this.options.sentryAddress, credentials, grpcClientChannelOptions(this.options.sentryAddress, this.#sentryId));
    const deadline = new Date(Date.now() + (this.options.requestTimeoutMs ?? 10_000));
    return new Promise<Response>((resolve, reject) => {
      const call = client.signCertificate(request, new grpc.Metadata(), { deadline }, (error, response) => {
        signal?.removeEventListener('abort', onAbort);
        client.close();
        if (error) reject(new Error(`SignCertificate failed (${grpc.status[error.code] ?? error.code}): ${error.details || error.message}`, { cause: error }));
        else if (!response) reject(new Error('SignCertificate returned no response'));
        else resolve(response);
      });
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #toSvid(response: Response, keyPem: string, anchors: string): Svid {
    const chainPem = Buffer.from(response.getWorkloadCertificate_asU8()).toString('utf8');
    const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chainPem);
    if (!first) throw new Error('sentry returned no certificate');
    const leaf = new X509Certificate(first[0]);
    const id = spiffeIdFromSubjectAltName(leaf.subjectAltName);
    if (!id) throw new Error(`sentry returned a certificate without one SPIFFE ID (${leaf.subjectAltName ?? 'no SANs'})`);
    const { namespace, id: appId, requestTrustDomain } = this.options;
    if (id.namespace !== namespace || id.appId !== appId || (requestTrustDomain && id.trustDomain !== requestTrustDomain)) {
      throw new Error(`sentry issued ${formatSpiffeId(id)}, not the identity asked for (${appId} in ${namespace})`);
    }
    const ourKey = createPublicKey(keyPem).export({ format: 'der', type: 'spki' });
    if (!leaf.publicKey.export({ format: 'der', type: 'spki' }).equals(ourKey)) throw new Error('sentry returned a certificate for another key');
    if (!response.hasValidUntil()) throw new Error('sentry returned no valid_until');
    const sentAnchors = response.getTrustChainCertificatesList_asU8().map((b) => Buffer.from(b).toString('utf8')).join('');
    return {
      id,
      certChainPem: chainPem.endsWith('\n') ? chainPem : `${chainPem}\n`,
      keyPem,
      trustAnchorsPem: anchors.trim() ? anchors : sentAnchors,
      notBefore: new Date(leaf.validFrom),
      notAfter: new Date(leaf.validTo),
    };
  }

  #refreshAnchors(): void {
    const svid = this.current();
    if (!svid) return;
    let anchors: string;
    try {
      anchors = this.options.trustAnchors();
    } catch {
      return;
    }
    if (anchors.trim() && anchors !== svid.trustAnchorsPem) this.set({ ...svid, trustAnchorsPem: anchors });
  }
}

export interface ControlPlaneSvidOptions {
  /** Asks for `dapr-<service>` in the control-plane namespace, in the control-plane trust domain. */
  service: ControlPlaneService;
  sentryAddress: string;
  trustAnchors: () => string;
  /** The control plane's trust domain (sentry's, and the one asked for). */
  trustDomain: string;
  /** The control-plane namespace (sentry's, and this service's). */
  namespace: string;
  /** The token sentry validates, re-read for every request (the kubelet rotates it); none: no token is sent. */
  tokenFile?: string;
  validator?: SentryTokenValidator;
  /** `SENTRY_LOCAL_IDENTITY`: replaces the id asked for. */
  localIdentity?: string;
  logger: Logger;
}

/** The SVID source of a control-plane service (operator, injector, placement), as Dapr's services ask for theirs. */
export function controlPlaneSvidSource(options: ControlPlaneSvidOptions): SentrySvidSource {
  const { tokenFile } = options;
  return new SentrySvidSource({
    sentryAddress: options.sentryAddress,
    trustAnchors: options.trustAnchors,
    trustDomain: options.trustDomain,
    controlPlaneNamespace: options.namespace,
    id: options.localIdentity ?? `dapr-${options.service}`,
    namespace: options.namespace,
    requestTrustDomain: options.trustDomain,
    token: tokenFile ? async () => (await readFile(tokenFile, 'utf8')).trim() : undefined,
    validator: options.validator,
    logger: options.logger,
  });
}

/** Waits `ms`, or less when `signal` aborts (also when it already has). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}
