// The events the placement core handles, one at a time, in order (a single-consumer loop, as Dapr's placement
// is built). The gRPC edge, timers and the leadership part only ever enqueue these; nothing else touches the
// core's state.
import type { HostReport } from './host.js';
import type { PlacementError } from './errors.js';

/** The edge's handle on one sidecar stream. Sends never throw: a failed stream comes back as `streamClosed`. */
export interface StreamPort {
  readonly id: number;
  /** Remote address, for logs. */
  readonly peer: string;
  send(order: EncodedOrder): void;
  /** Ends the stream with the error's status. */
  close(error: PlacementError): void;
}

/** A PlacementOrder ready to send; `payload` is whatever the codec made (wire bytes, or test data). */
export interface EncodedOrder {
  readonly operation: 'lock' | 'update' | 'unlock';
  readonly version: number;
  readonly payload: unknown;
}

export type PlacementEvent =
  /** A stream passed authorisation with its first Host. */
  | { kind: 'streamOpened'; stream: StreamPort; host: HostReport }
  /** Any later Host on an open stream: a new report, or an ack of a dissemination phase. */
  | { kind: 'hostReported'; streamId: number; namespace: string; host: HostReport }
  | { kind: 'streamClosed'; streamId: number; namespace: string; reason?: Error }
  /** The dissemination timeout of `version` expired. */
  | { kind: 'roundTimedOut'; namespace: string; version: number }
  /** The batching window of a namespace's pending changes ended. */
  | { kind: 'batchDue'; namespace: string; token: number }
  /** This node became the leader; `expected` = actor hosts per namespace the previous leader last had. */
  | { kind: 'leadershipGained'; expected?: Record<string, number> }
  /** Time to re-check whether the new leader has waited long enough to disseminate. */
  | { kind: 'settleCheck' }
  | { kind: 'shutdown'; reason: PlacementError };

export interface Timers {
  now(): number;
  /** Enqueues `event` after `ms`; returns a function that cancels it. */
  after(ms: number, event: PlacementEvent): () => void;
}
