// Errors of the placement core, each with the status it becomes at the gRPC edge (chosen on purpose, matching
// Dapr where Dapr has one: spec §3.2, §3.3). The core never imports gRPC.

export type PlacementErrorCode =
  | 'invalid-argument' // malformed report: missing name/id/namespace, bad operation/version, too many actor types
  | 'permission-denied' // report for an app ID or namespace other than the caller's certificate
  | 'unauthenticated' // mTLS on, but no SPIFFE ID on the caller's certificate
  | 'already-exists' // host name already registered by another app in the namespace
  | 'aborted' // stream replaced by a newer stream for the same host
  | 'deadline-exceeded' // host did not acknowledge a dissemination phase in time
  | 'resource-exhausted' // stream stopped reading what placement sends
  | 'failed-precondition' // not the leader
  | 'unavailable'; // shutting down

export class PlacementError extends Error {
  constructor(
    readonly code: PlacementErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PlacementError';
  }
}

export function notLeaderError(nodeId: string): PlacementError {
  // Dapr's exact text: daprd only lowers its log level on it, but operators grep for it.
  return new PlacementError('failed-precondition', `node id=${nodeId} is not a leader. Only the leader can serve requests`);
}
