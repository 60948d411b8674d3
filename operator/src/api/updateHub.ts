// The connected update streams, by kind and namespace (and app id, which decides component scoping). Writing is
// non-blocking: a sidecar that stops reading gets its stream closed once too many messages pile up for it — it
// reconnects and relists, which is cheaper for everyone than buffering without bound or holding back the others.
import * as grpc from '@grpc/grpc-js';
import type { OperatorMetrics } from '../metrics.js';

export type StreamKind = 'components' | 'subscriptions' | 'httpendpoints';

/** The part of a grpc-js server stream the hub uses (see `grpcSink`). */
export interface StreamSink<M> {
  write(message: M): boolean;
  /** Messages buffered and not yet handed to the transport. */
  readonly pending: number;
  /** Ends the stream with status OK. */
  end(): void;
  /** Ends the stream with an error status (once what is buffered is flushed). */
  fail(error: Error & { code: grpc.status }): void;
}

/** Adapts a grpc-js server-streaming call. */
export function grpcSink<M>(call: grpc.ServerWritableStream<unknown, M>): StreamSink<M> {
  return {
    write: (message) => call.write(message),
    get pending() {
      return call.writableLength;
    },
    end: () => call.end(),
    // grpc-js turns an 'error' on a server stream into the call's final status.
    fail: (error) => call.emit('error', error),
  };
}

export interface Subscriber<M = unknown> {
  readonly namespace: string;
  readonly appId: string;
  readonly sink: StreamSink<M>;
}

export interface UpdateHubOptions {
  metrics?: OperatorMetrics;
  /** Messages allowed to wait for one slow stream before it is closed. */
  maxPending?: number;
}

export class UpdateHub {
  readonly #streams = new Map<StreamKind, Map<string, Set<Subscriber>>>();
  #closed = false;

  constructor(private readonly options: UpdateHubOptions = {}) {}

  /** Registers a stream; returns the function that removes it. Throws once the hub is closed (shutting down). */
  add<M>(kind: StreamKind, subscriber: Subscriber<M>): () => void {
    if (this.#closed) throw new Error('the operator is shutting down');
    let byNamespace = this.#streams.get(kind);
    if (!byNamespace) {
      byNamespace = new Map();
      this.#streams.set(kind, byNamespace);
    }
    let set = byNamespace.get(subscriber.namespace);
    if (!set) {
      set = new Set();
      byNamespace.set(subscriber.namespace, set);
    }
    set.add(subscriber as Subscriber);
    this.options.metrics?.updateStreams.inc({ kind });
    return () => this.#remove(kind, subscriber as Subscriber);
  }

  #remove(kind: StreamKind, subscriber: Subscriber): void {
    const byNamespace = this.#streams.get(kind);
    const set = byNamespace?.get(subscriber.namespace);
    if (!set?.delete(subscriber)) return;
    if (set.size === 0) byNamespace!.delete(subscriber.namespace);
    this.options.metrics?.updateStreams.dec({ kind });
  }

  subscribers<M>(kind: StreamKind, namespace: string): Subscriber<M>[] {
    return [...(this.#streams.get(kind)?.get(namespace) ?? [])] as Subscriber<M>[];
  }

  count(kind?: StreamKind): number {
    let total = 0;
    for (const [k, byNamespace] of this.#streams) {
      if (kind && k !== kind) continue;
      for (const set of byNamespace.values()) total += set.size;
    }
    return total;
  }

  /**
   * Writes to one stream. A stream that has fallen too far behind is taken out of the hub and failed with
   * RESOURCE_EXHAUSTED, so it holds no more than `maxPending` messages.
   */
  send<M>(kind: StreamKind, subscriber: Subscriber<M>, message: M): void {
    const { sink } = subscriber;
    if (sink.pending >= (this.options.maxPending ?? 1000)) {
      this.#remove(kind, subscriber as Subscriber);
      this.options.metrics?.updateStreamsDropped.inc({ kind });
      sink.fail(
        Object.assign(new Error('the sidecar is not reading its update stream; reconnect and list again'), { code: grpc.status.RESOURCE_EXHAUSTED }),
      );
      return;
    }
    sink.write(message);
    this.options.metrics?.updateEventsSent.inc({ kind });
  }

  /** Ends every stream (graceful shutdown: sidecars reconnect to another replica) and refuses new ones. */
  closeAll(): void {
    this.#closed = true;
    for (const [kind, byNamespace] of this.#streams) {
      for (const set of [...byNamespace.values()]) {
        for (const subscriber of [...set]) {
          this.#remove(kind, subscriber);
          subscriber.sink.end();
        }
      }
    }
  }
}
