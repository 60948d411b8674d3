// The gRPC server sidecars connect to: `dapr.proto.placement.v1.Placement/ReportDaprStatus` on `--port`, with
// Dapr's keepalive as the failure detector (the server pings every `keepaliveTimeMs`; a sidecar that does not
// answer within `keepaliveTimeoutMs` is disconnected, and its host leaves the table). Only the leader serves:
// followers refuse with FailedPrecondition "node id=… is not a leader …", so daprd moves on to the next address.
import * as grpc from '@grpc/grpc-js';
import { callerSpiffeId } from '@tapr/lib/security/grpcTls';
import { deferred } from '@tapr/lib/httpServer';
import { bindGrpcServer, shutdownGrpcServer } from '@tapr/lib/grpcServer';
import type { Logger } from '@tapr/lib/logger';
import type { ReadinessTarget } from '@tapr/lib/health';
import type { SpiffeId } from '@tapr/lib/security/spiffe';
import { SidecarConnection, type PlacementCall } from './connection.js';
import { PlacementError, notLeaderError } from './errors.js';
import { placementServiceDefinition } from './wire.js';
import { toGrpcStatus } from './status.js';
import { PacedWriter } from './pacedWriter.js';
import type { AuthorizeOptions } from './authorize.js';
import type { PlacementCore } from './core.js';

export interface PlacementServerOptions {
  nodeId: string;
  port: number;
  /** "" = every interface. */
  listenAddress: string;
  credentials: grpc.ServerCredentials;
  /** mTLS on: callers are identified (and authorised) by their certificate's SPIFFE ID. */
  mtls: boolean;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  maxActorTypesPerHost: number;
  firstReportTimeoutMs: number;
  sendStallTimeoutMs: number;
  maxBufferedBytes: number;
  /** Bytes of orders being written at once, across all streams. */
  writeBudgetBytes: number;
  core: PlacementCore;
  readiness: ReadinessTarget;
  logger: Logger;
  /** How a call's SPIFFE ID is found; tests may replace it. */
  callerId?: (call: PlacementCall) => SpiffeId | undefined;
}

export class PlacementServer {
  #boundPort = 0;
  #nextStreamId = 1;
  #shuttingDown = false;
  readonly #listening = deferred();
  readonly #writer: PacedWriter;
  #warnedFraming = false;

  constructor(private readonly options: PlacementServerOptions) {
    this.#writer = new PacedWriter(options.writeBudgetBytes);
  }

  async run(signal: AbortSignal): Promise<void> {
    const { options } = this;
    const server = new grpc.Server({
      'grpc.keepalive_time_ms': options.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
    });
    server.addService(placementServiceDefinition(), { reportDaprStatus: (call: PlacementCall) => this.#accept(call) });
    this.#boundPort = await bindGrpcServer(server, options.listenAddress, options.port, options.credentials);
    options.readiness.ready();
    options.logger.info('placement gRPC server listening', { port: this.#boundPort, tls: options.mtls, nodeId: options.nodeId });
    this.#listening.resolve();

    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    this.#shuttingDown = true;
    options.readiness.notReady('shutting down');
    options.core.enqueue({ kind: 'shutdown', reason: new PlacementError('unavailable', 'placement server is shutting down') });
    await shutdownGrpcServer(server, 5000);
    this.#writer.close();
    options.logger.info('placement gRPC server stopped');
  }

  whenListening(): Promise<void> {
    return this.#listening.promise;
  }

  get port(): number {
    return this.#boundPort;
  }

  #accept(call: PlacementCall): void {
    const { options } = this;
    if (!options.core.isLeader) {
      options.logger.debug('refusing a stream: not the leader', { peer: call.getPeer() });
      call.emit('error', toGrpcStatus(notLeaderError(options.nodeId)));
      return;
    }
    if (this.#shuttingDown) {
      call.emit('error', toGrpcStatus(new PlacementError('unavailable', 'placement server is shutting down')));
      return;
    }
    const connection = new SidecarConnection({
      id: this.#nextStreamId++,
      call,
      caller: options.mtls ? (options.callerId ?? callerSpiffeId)(call) : undefined,
      authorize: { mtls: options.mtls, maxActorTypesPerHost: options.maxActorTypesPerHost },
      firstReportTimeoutMs: options.firstReportTimeoutMs,
      sendStallTimeoutMs: options.sendStallTimeoutMs,
      maxBufferedBytes: options.maxBufferedBytes,
      writer: this.#writer,
      enqueue: (event) => options.core.enqueue(event),
      logger: options.logger,
    });
    if (!connection.framedWrites && !this.#warnedFraming) {
      this.#warnedFraming = true;
      options.logger.warn('this grpc-js version does not let placement send pre-framed orders: each stream gets its own copy (slower, more memory)');
    }
    connection.start();
  }
}
