// Errors the scheduler answers with, each carrying the gRPC status Dapr's scheduler gives the same failure
// (docs/scheduler-spec.md §2, §3). The store and the engine throw these; the gRPC edge maps `code` as is.
import { status } from '@grpc/grpc-js';

export class SchedulerError extends Error {
  constructor(
    readonly code: status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SchedulerError';
  }
}

/** Dapr returns Go errors without a status for validation failures: grpc-go makes them Unknown. */
export const unknown = (message: string) => new SchedulerError(status.UNKNOWN, message);
