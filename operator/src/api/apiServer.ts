// The gRPC server of the Operator service: mutual TLS with the operator's SVID (any client certificate chaining to
// the trust anchors is accepted; OperatorService authorises by its SPIFFE ID), on `--listen-address:--port`.
// Shutdown ends every update stream first — daprd reconnects to another replica — then drains the unary calls.
import * as grpc from '@grpc/grpc-js';
import * as protos from '@tapr/lib/protos';
import { grpcServerCredentials } from '@tapr/lib/security/grpcTls';
import type { Logger } from '@tapr/lib/logger';
import type { SvidSource } from '@tapr/lib/security/svid';
import type { OperatorService } from './operatorService.js';
import type { UpdateHub } from './updateHub.js';

export interface ApiServerOptions {
  port: number;
  /** "" = every interface. */
  host: string;
  service: OperatorService;
  hub: UpdateHub;
  svid: SvidSource;
  logger: Logger;
  /** Called once the server is listening (readiness). */
  onListening?: (port: number) => void;
  shutdownGraceMs?: number;
}

export class ApiServer {
  #port = 0;

  constructor(private readonly options: ApiServerOptions) {}

  /** The bound port (after listening; useful with port 0). */
  get port(): number {
    return this.#port;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger } = this.options;
    await this.options.svid.ready(signal);
    const server = new grpc.Server({
      // Sidecars hold their streams for days: notice dead peers, and let clients ping.
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    });
    server.addService(protos.operatorGrpc.OperatorService, this.options.service.implementation());
    const host = this.options.host || '0.0.0.0';
    const address = host.includes(':') ? `[${host}]:${this.options.port}` : `${host}:${this.options.port}`;
    const credentials = grpcServerCredentials(this.options.svid, { requireClientCert: true });
    this.#port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, credentials, (error, port) =>
        error ? reject(new Error(`cannot listen on ${address}: ${error.message}`, { cause: error })) : resolve(port),
      ),
    );
    logger.info('operator API (gRPC, mTLS) listening', { address: `${host}:${this.#port}` });
    this.options.onListening?.(this.#port);
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    this.options.hub.closeAll();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        logger.warn('calls still open after the grace period; closing them');
        server.forceShutdown();
        resolve();
      }, this.options.shutdownGraceMs ?? 5000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    logger.info('operator API stopped');
  }
}
