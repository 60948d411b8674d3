// Who may read what: the caller's namespace comes from the SPIFFE ID of its verified client certificate, never from
// the request, and must equal the namespace it asks about (spec §4.1; messages as Dapr words them).
import * as grpc from '@grpc/grpc-js';
import type { SpiffeId } from '@tapr/lib/security/spiffe';

/** An error with the gRPC status it becomes at the edge. */
export class ApiError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiError';
  }
}

export function authorize(caller: SpiffeId | undefined, namespace: string): SpiffeId {
  if (!caller) throw new ApiError(grpc.status.PERMISSION_DENIED, 'failed to determine identity');
  if (!namespace || caller.namespace !== namespace) {
    throw new ApiError(grpc.status.PERMISSION_DENIED, `identity does not match requested namespace exp=${namespace} got=${caller.namespace}`);
  }
  return caller;
}

/** The gRPC error object for a failure: ApiErrors keep their code; anything else is INTERNAL with its message. */
export function toServiceError(error: unknown): Partial<grpc.ServiceError> {
  if (error instanceof ApiError) return { code: error.code, details: error.message, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: grpc.status.INTERNAL, details: message, message };
}
