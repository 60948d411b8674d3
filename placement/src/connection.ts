// One sidecar's ReportDaprStatus stream, at the gRPC edge: decodes and authorises every Host, turns them into
// core events, writes the core's orders, and ends the stream with the status each error calls for.
// Backpressure: nothing here blocks — orders wait in the stream's outbox and go out under a byte budget shared by
// all streams (pacedWriter.ts); a stream whose pending orders make no progress for `sendStallTimeoutMs` — a sidecar
// that stopped reading — is reset with RESOURCE_EXHAUSTED and dropped, so the round goes on without it instead of
// waiting for the dissemination timeout.
import http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { describeError, type Logger } from '@tapr/lib/logger';
import type { SpiffeId } from '@tapr/lib/security/spiffe';
import { authorizeHost, type AuthorizeOptions } from './authorize.js';
import { PlacementError } from './errors.js';
import { HostOperation, type HostReport } from './host.js';
import { FramedOrder } from './wire.js';
import { toGrpcStatus } from './status.js';
import type { PacedStream, PacedWriter } from './pacedWriter.js';
import type { EncodedOrder, PlacementEvent, StreamPort } from './events.js';

/** A ReportDaprStatus call: Host messages arrive decoded (wire.ts), orders go out pre-framed. */
export type PlacementCall = grpc.ServerDuplexStream<HostReport, FramedOrder>;

export interface ConnectionOptions {
  id: number;
  call: PlacementCall;
  caller: SpiffeId | undefined;
  authorize: AuthorizeOptions;
  /** A stream must send its first report within this time. */
  firstReportTimeoutMs: number;
  sendStallTimeoutMs: number;
  /** Queued bytes at which a stream is dropped at once, stall or not. */
  maxBufferedBytes: number;
  /** Shared by all streams: bounds the bytes being written at any time. */
  writer: PacedWriter;
  enqueue: (event: PlacementEvent) => void;
  logger: Logger;
}

export class SidecarConnection implements StreamPort, PacedStream {
  readonly id: number;
  readonly peer: string;
  /** Whether orders go out without grpc-js re-framing (copying) them; see writeFramesAsIs. */
  readonly framedWrites: boolean;
  readonly #call: PlacementCall;
  #namespace: string | undefined;
  #host = '';
  #state: 'awaiting-report' | 'open' | 'closed' = 'awaiting-report';
  #firstReportTimer: NodeJS.Timeout | undefined;
  #stallTimer: NodeJS.Timeout | undefined;
  /** Orders not yet written, in order; one write is in flight at a time (paced by the shared writer). */
  #outbox: FramedOrder[] = [];
  #queuedBytes = 0;
  #writing = false;
  #completedWrites = 0;

  constructor(private readonly options: ConnectionOptions) {
    this.id = options.id;
    this.#call = options.call;
    this.peer = options.call.getPeer();
    this.framedWrites = writeFramesAsIs(options.call);
  }

  start(): void {
    const call = this.#call;
    this.#firstReportTimer = setTimeout(() => {
      this.#fail(new PlacementError('deadline-exceeded', `no host report within ${this.options.firstReportTimeoutMs} ms of opening the stream`));
    }, this.options.firstReportTimeoutMs);
    call.on('data', (host: HostReport) => this.#receive(host));
    call.on('end', () => {
      // The sidecar closed its side (daprd does on shutdown): finish ours with OK.
      this.#closed(undefined);
      call.end();
    });
    call.on('error', (error: Error) => this.#closed(error));
    call.on('cancelled', () => this.#closed(new Error('stream cancelled by the client')));
  }

  send(order: EncodedOrder): void {
    if (this.#state === 'closed') return;
    const bytes = order.payload as FramedOrder;
    this.#outbox.push(bytes);
    this.#queuedBytes += bytes.byteLength;
    if (this.#queuedBytes > this.options.maxBufferedBytes) {
      this.#reset(`${this.#queuedBytes} bytes of orders are waiting to be sent`);
      return;
    }
    if (!this.#writing) this.options.writer.request(this);
  }

  /** Called by the paced writer when this stream may write its next order. */
  writeHead(done: () => void): number | undefined {
    const bytes = this.#outbox.shift();
    if (bytes === undefined || this.#state === 'closed') return undefined;
    this.#writing = true;
    this.#call.write(bytes, () => {
      this.#writing = false;
      this.#queuedBytes -= bytes.byteLength;
      this.#completedWrites++;
      done();
      // The stall timer stays armed: it finds the stream idle when it fires (or sees progress), which is
      // cheaper than a timer per write.
      if (this.#outbox.length > 0 && this.#state !== 'closed') this.options.writer.request(this);
    });
    if (!this.#stallTimer) this.#armStallTimer(this.#progress());
    return bytes.byteLength;
  }

  /**
   * A stream is stalled when its pending orders make no progress for a whole period: no write completed and the
   * HTTP/2 stream's send buffer did not shrink. A slow but reading sidecar (or one sharing a busy connection)
   * keeps making progress and is left alone.
   */
  #armStallTimer(before: string): void {
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = undefined;
      if (!this.#writing || this.#state === 'closed') return;
      const now = this.#progress();
      if (now !== before) this.#armStallTimer(now);
      else this.#reset(`${this.#queuedBytes} bytes unsent, no progress for ${this.options.sendStallTimeoutMs} ms`);
    }, this.options.sendStallTimeoutMs);
  }

  #progress(): string {
    return `${this.#completedWrites}/${this.#http2Stream()?.bufferSize ?? '?'}`;
  }

  /** Ends the stream with the error's status (the core has already forgotten it). */
  close(error: PlacementError): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#clearTimers();
    this.#dropOutbox();
    this.options.logger.info('closing stream', { stream: this.id, peer: this.peer, host: this.#host, code: error.code, reason: error.message });
    this.#call.emit('error', toGrpcStatus(error));
    // The status queues behind the order being written; a stream that does not read would never get it: reset it
    // if that write has not gone out within a second.
    if (this.#writing) setTimeout(() => this.#writing && this.#resetHttp2Stream(), 1000).unref();
  }

  #receive(host: HostReport): void {
    if (this.#state === 'closed') return;
    try {
      authorizeHost(host, this.options.caller, this.options.authorize);
      if (this.#state === 'awaiting-report' && host.operation !== HostOperation.report && host.operation !== HostOperation.unknown) {
        throw new PlacementError('invalid-argument', 'the first message of a stream must be a REPORT of the host');
      }
      if (this.#namespace !== undefined && host.namespace !== this.#namespace) {
        throw new PlacementError('invalid-argument', `a stream cannot change namespace (opened in ${this.#namespace}, got ${host.namespace})`);
      }
    } catch (error) {
      if (!(error instanceof PlacementError)) throw error;
      this.options.logger.warn('refusing a host report', { stream: this.id, peer: this.peer, host: host.name, app: host.id, code: error.code, reason: error.message });
      this.#fail(error);
      return;
    }
    if (this.#state === 'awaiting-report') {
      clearTimeout(this.#firstReportTimer);
      this.#state = 'open';
      this.#namespace = host.namespace;
      this.#host = host.name;
      this.options.logger.info('sidecar connected', { stream: this.id, peer: this.peer, namespace: host.namespace, app: host.id, host: host.name, actorTypes: host.entities.length });
      this.options.enqueue({ kind: 'streamOpened', stream: this, host });
      return;
    }
    if (host.operation === HostOperation.report) this.#host = host.name || this.#host;
    this.options.enqueue({ kind: 'hostReported', streamId: this.id, namespace: this.#namespace!, host });
  }

  /** Closes the stream for a reason found at the edge, and tells the core. */
  #fail(error: PlacementError): void {
    const wasOpen = this.#state === 'open';
    this.close(error);
    if (wasOpen) this.options.enqueue({ kind: 'streamClosed', streamId: this.id, namespace: this.#namespace!, reason: error });
  }

  #closed(reason: Error | undefined): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    this.#clearTimers();
    this.#dropOutbox();
    this.options.logger.info('sidecar disconnected', { stream: this.id, peer: this.peer, host: this.#host, reason: reason ? describeError(reason) : 'closed by the sidecar' });
    if (wasOpen) this.options.enqueue({ kind: 'streamClosed', streamId: this.id, namespace: this.#namespace!, reason });
  }

  #reset(why: string): void {
    if (this.#state === 'closed') return;
    const error = new PlacementError('resource-exhausted', `stream stopped reading placement orders: ${why}`);
    this.options.logger.warn('dropping a stream that does not read', { stream: this.id, peer: this.peer, host: this.#host, reason: error.message });
    this.#fail(error);
    this.#resetHttp2Stream();
  }

  /**
   * RST_STREAM with ENHANCE_YOUR_CALM, which gRPC clients (grpc-go, grpc-js) report as RESOURCE_EXHAUSTED.
   * grpc-js has no public call for it; the HTTP/2 stream is reached through the call's internals, and if their
   * shape ever changes the stream is at least ended by the keepalive or the dissemination timeout.
   */
  #resetHttp2Stream(): void {
    const stream = this.#http2Stream();
    if (stream && typeof stream.close === 'function' && !stream.closed) stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  }

  /** The call's HTTP/2 stream, reached through grpc-js internals (undefined if their shape changes). */
  #http2Stream(): http2.ServerHttp2Stream | undefined {
    const inner = (this.#call as unknown as { call?: { stream?: unknown; nextCall?: { stream?: unknown } } }).call;
    const stream = inner?.stream ?? inner?.nextCall?.stream;
    const looksLikeOne = typeof stream === 'object' && stream !== null && 'bufferSize' in stream && typeof (stream as { close?: unknown }).close === 'function';
    return looksLikeOne ? (stream as http2.ServerHttp2Stream) : undefined;
  }

  #dropOutbox(): void {
    this.#outbox = [];
    this.options.writer.cancel(this);
  }

  #clearStall(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
  }

  #clearTimers(): void {
    clearTimeout(this.#firstReportTimer);
    this.#clearStall();
  }
}

/**
 * grpc-js copies every response into a new frame buffer before writing it (`serializeMessage`): 5,000 copies of a
 * 350 KB table per round, and the garbage collection they cause, dominate a large round. Our orders are framed
 * once (FramedOrder), so this call's `serializeMessage` is told to hand those frames to HTTP/2 as they are.
 * It reaches into grpc-js internals; if their shape differs the call keeps the normal path (the service
 * definition's serializer returns the bare message and grpc-js frames it), so output is the same either way.
 */
function writeFramesAsIs(call: PlacementCall): boolean {
  const inner = (call as unknown as { call?: { serializeMessage?: unknown } }).call;
  const original = inner?.serializeMessage;
  if (!inner || typeof original !== 'function') return false;
  inner.serializeMessage = function serializeFramed(this: unknown, value: unknown) {
    return value instanceof FramedOrder ? value.frame : (original as (value: unknown) => Buffer).call(this, value);
  };
  return true;
}
