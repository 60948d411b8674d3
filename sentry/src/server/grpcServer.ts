// The gRPC edge: `dapr.proto.sentry.v1.CA/SignCertificate` over TLS with sentry's own SVID (no client
// certificates: clients prove themselves with tokens). Converts protobuf messages to the plain request, and every
// error to a status whose code is chosen on purpose and whose message says what was wrong.
import * as grpc from '@grpc/grpc-js';
import { describeError, grpcServerCredentials, protos, type Logger, type ReadinessTarget, type SvidSource } from '@tapr/lib';
import { CsrError } from '../x509/csr.js';
import { ValidationError, type TokenValidatorName } from '../validators/validator.js';
import { RequestRefused, type CertificateService, type RequestedValidator } from './certificateService.js';
import type { SentryMetrics } from '../metrics.js';

type SignCertificateRequest = InstanceType<typeof protos.sentry.SignCertificateRequest>;
type SignCertificateResponse = InstanceType<typeof protos.sentry.SignCertificateResponse>;

export interface GrpcServerOptions {
  service: CertificateService;
  svid: SvidSource;
  host: string;
  port: number;
  metrics: SentryMetrics;
  readiness: ReadinessTarget;
  logger: Logger;
}

const validatorNames: Record<number, TokenValidatorName | 'UNKNOWN'> = { 0: 'UNKNOWN', 1: 'INSECURE', 2: 'KUBERNETES', 3: 'JWKS' };

export interface Refusal {
  code: grpc.status;
  message: string;
  /** Label of dapr_sentry_cert_sign_failure_total. */
  reason: string;
}

/** The status for an error from signCertificate. */
export function refusalFor(error: unknown): Refusal {
  if (error instanceof ValidationError) {
    switch (error.kind) {
      // Dapr answers an incomplete request with PermissionDenied too; its integration tests expect that code.
      case 'invalid-request':
        return { code: grpc.status.PERMISSION_DENIED, message: error.message, reason: 'invalid_request' };
      case 'unauthenticated':
        return { code: grpc.status.UNAUTHENTICATED, message: error.message, reason: 'unauthenticated' };
      case 'permission-denied':
        return { code: grpc.status.PERMISSION_DENIED, message: error.message, reason: 'permission_denied' };
      case 'unavailable':
        return { code: grpc.status.UNAVAILABLE, message: error.message, reason: 'validator_unavailable' };
    }
  }
  if (error instanceof CsrError) {
    return { code: grpc.status.INVALID_ARGUMENT, message: error.message, reason: { malformed: 'invalid_csr', unsupported: 'unsupported_csr', 'bad-signature': 'invalid_csr_signature' }[error.problem] };
  }
  if (error instanceof RequestRefused) {
    return error.kind === 'unknown-validator'
      ? { code: grpc.status.INVALID_ARGUMENT, message: error.message, reason: 'unknown_validator' }
      : { code: grpc.status.UNAVAILABLE, message: error.message, reason: 'not_signing' };
  }
  return { code: grpc.status.INTERNAL, message: 'failed to sign certificate', reason: 'internal' };
}

export class GrpcServer {
  #server: grpc.Server | undefined;
  #port = 0;

  constructor(private readonly options: GrpcServerOptions) {}

  get port(): number {
    return this.#port;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger, readiness } = this.options;
    try {
      await this.options.svid.ready(signal);
    } catch (error) {
      if (signal.aborted) return; // stopped before sentry ever had a certificate to serve with
      throw error;
    }
    // Channelz bookkeeping costs a little on every call and nothing here reads it.
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 1024 * 1024, 'grpc.enable_channelz': 0 });
    server.addService(protos.sentryGrpc.CAService as unknown as grpc.ServiceDefinition, { signCertificate: this.#handle });
    this.#server = server;
    const address = `${this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host}:${this.options.port}`;
    this.#port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, grpcServerCredentials(this.options.svid, { requireClientCert: false }), (error, port) =>
        error ? reject(new Error(`cannot listen on ${address}: ${error.message}`, { cause: error })) : resolve(port),
      );
    });
    readiness.ready();
    logger.info('gRPC CA server listening', { address: `${this.options.host}:${this.#port}` });
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    readiness.notReady('shutting down');
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 5000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    logger.info('gRPC CA server stopped');
  }

  readonly #handle: grpc.handleUnaryCall<SignCertificateRequest, SignCertificateResponse> = (call, callback) => {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    const { metrics, logger } = this.options;
    metrics.requestReceived();
    const request = call.request;
    const validatorValue = request.getTokenValidator() as number;
    const requested: RequestedValidator = validatorNames[validatorValue] ?? validatorValue;
    this.options.service
      .signCertificate(
        {
          id: request.getId(),
          token: request.getToken(),
          trustDomain: request.getTrustDomain(),
          namespace: request.getNamespace(),
          csr: request.getCertificateSigningRequest_asU8(),
          jwtAudiences: request.getJwtAudiencesList(),
        },
        requested,
      )
      .then((issued) => {
        const response = new protos.sentry.SignCertificateResponse();
        response.setWorkloadCertificate(issued.workloadCertificate);
        response.setTrustChainCertificatesList([issued.trustAnchors]);
        const validUntil = new protos.timestamp.Timestamp();
        validUntil.setSeconds(Math.floor(issued.notAfter.getTime() / 1000));
        response.setValidUntil(validUntil);
        metrics.signSucceeded(seconds());
        if (logger.isDebugEnabled()) logger.debug('signed a certificate', { namespace: request.getNamespace(), id: request.getId() });
        callback(null, response);
      })
      .catch((error: unknown) => {
        const refusal = refusalFor(error);
        metrics.signFailed(refusal.reason, seconds());
        const fields = { namespace: request.getNamespace(), id: request.getId(), reason: refusal.reason };
        if (refusal.code === grpc.status.INTERNAL) logger.error('signing failed', { ...fields, error: describeError(error) });
        else logger.debug(`refused: ${refusal.message}`, fields);
        callback({ code: refusal.code, details: refusal.message });
      });
  };
}
