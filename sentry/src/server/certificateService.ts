// SignCertificate, in the order Dapr's sentry works (spec §2.3): choose the validator, validate the request and
// token, then read and verify the CSR and sign — the CSR's own claims are ignored; the identity is the one the
// validator established. Errors are typed here and become gRPC statuses in grpcServer.ts.
import { formatSpiffeId, type Logger } from '@tapr/lib';
import type { CertificateAuthority, SigningIssuer } from '../ca/authority.js';
import type { IssuerHandle, Signer } from '../signing/signer.js';
import type { SignRequest, TokenValidatorName, Validator } from '../validators/validator.js';

export interface CertificateServiceOptions {
  authority: CertificateAuthority;
  signer: Signer;
  validators: ReadonlyMap<TokenValidatorName, Validator>;
  /** Used when a request names no validator (UNKNOWN); undefined: such requests are refused. */
  defaultValidator?: TokenValidatorName;
  /** Sentry's namespace: control-plane services there get the DNS names Dapr adds. */
  controlPlaneNamespace: string;
  /** Kubernetes cluster domain, for the scheduler's DNS names. */
  clusterDomain: string;
  workloadCertTtlMs: number;
  allowedClockSkewMs: number;
  logger: Logger;
  now?: () => Date;
}

/** The validator field as it arrived: a known name, UNKNOWN (0), or a number no validator has. */
export type RequestedValidator = TokenValidatorName | 'UNKNOWN' | number;

export interface IssuedCertificate {
  /** PEM: the leaf, then the issuer chain. */
  workloadCertificate: Buffer;
  /** PEM of the trust anchors (one element, as Dapr sends it). */
  trustAnchors: Buffer;
  notAfter: Date;
}

/** Refusals that are not about the token or the CSR. */
export class RequestRefused extends Error {
  constructor(
    readonly kind: 'unknown-validator' | 'not-signing',
    message: string,
  ) {
    super(message);
  }
}

interface IssuerView {
  issuer: SigningIssuer;
  /** What the signer needs, made once per issuer rather than per request. */
  handle: IssuerHandle;
  chain: Buffer;
  anchors: Buffer;
}

export class CertificateService {
  #view: IssuerView | undefined;
  readonly #now: () => Date;

  constructor(private readonly options: CertificateServiceOptions) {
    this.#now = options.now ?? (() => new Date());
  }

  async signCertificate(request: SignRequest, requested: RequestedValidator): Promise<IssuedCertificate> {
    const validator = this.#validator(requested);
    const { trustDomain } = await validator.validate(request);

    const issuer = this.#issuer();
    const now = this.#now();
    const notBefore = new Date(Math.floor((now.getTime() - this.options.allowedClockSkewMs) / 1000) * 1000);
    const notAfter = new Date(Math.floor((now.getTime() + this.options.workloadCertTtlMs) / 1000) * 1000);
    const leaf = await this.options.signer.sign(
      {
        csr: request.csr,
        uri: formatSpiffeId({ trustDomain, namespace: request.namespace, appId: request.id }),
        dnsNames: this.#dnsNames(request),
        notBefore,
        notAfter,
      },
      issuer.handle,
    );
    return { workloadCertificate: pemWithChain(leaf, issuer.chain), trustAnchors: issuer.anchors, notAfter };
  }

  #validator(requested: RequestedValidator): Validator {
    const name = requested === 'UNKNOWN' ? this.options.defaultValidator : typeof requested === 'number' ? undefined : requested;
    if (requested === 'UNKNOWN' && !name) throw new RequestRefused('unknown-validator', 'a validator name must be specified in this environment');
    const validator = name ? this.options.validators.get(name) : undefined;
    if (!validator) throw new RequestRefused('unknown-validator', 'the requested validator is not enabled');
    return validator;
  }

  /** The issuer to sign with right now — never an expired one. */
  #issuer(): IssuerView {
    const current = this.options.authority.current();
    if (!current) throw new RequestRefused('not-signing', `sentry is not signing certificates: ${this.options.authority.problem() ?? 'no trust bundle'}`);
    if (current.notAfter.getTime() <= this.#now().getTime()) {
      this.options.authority.refresh();
      throw new RequestRefused('not-signing', `sentry is not signing certificates: the issuer certificate expired at ${current.notAfter.toISOString()}`);
    }
    if (this.#view?.issuer !== current) {
      this.#view = {
        issuer: current,
        handle: { generation: current.generation, certDer: current.issuer.raw, keyPem: current.issuerKeyPem },
        chain: Buffer.from(current.issuerChainPem),
        anchors: Buffer.from(current.trustAnchorsPem),
      };
    }
    return this.#view;
  }

  #dnsNames(request: SignRequest): string[] {
    const ns = request.namespace;
    if (ns !== this.options.controlPlaneNamespace) return [];
    switch (request.id) {
      case 'dapr-injector':
        return [`dapr-sidecar-injector.${ns}.svc`];
      case 'dapr-operator':
        return [`dapr-webhook.${ns}.svc`];
      case 'dapr-scheduler':
        return [0, 1, 2].map((i) => `dapr-scheduler-server-${i}.dapr-scheduler-server.${ns}.svc.${this.options.clusterDomain}`);
      default:
        return [];
    }
  }
}

const pemHead = '-----BEGIN CERTIFICATE-----\n';
const pemTail = '-----END CERTIFICATE-----\n';

/**
 * The leaf as PEM (base64 in 64-character lines, as encodePem writes it) followed by the issuer chain, written
 * into one buffer: no intermediate string and no concatenation on the event loop's thread.
 */
export function pemWithChain(der: Buffer, chain: Buffer): Buffer {
  const base64 = der.toString('base64');
  const lines = Math.ceil(base64.length / 64);
  const out = Buffer.allocUnsafe(pemHead.length + base64.length + lines + pemTail.length + chain.length);
  let at = out.write(pemHead, 0, 'latin1');
  for (let i = 0; i < base64.length; i += 64) {
    at += out.write(base64.slice(i, i + 64), at, 'latin1');
    out[at++] = 0x0a;
  }
  at += out.write(pemTail, at, 'latin1');
  chain.copy(out, at);
  return out;
}
