// Core error codes → gRPC statuses, at the edge only.
import * as grpc from '@grpc/grpc-js';
import type { PlacementError, PlacementErrorCode } from './errors.js';

const codes: Record<PlacementErrorCode, grpc.status> = {
  'invalid-argument': grpc.status.INVALID_ARGUMENT,
  'permission-denied': grpc.status.PERMISSION_DENIED,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  'already-exists': grpc.status.ALREADY_EXISTS,
  aborted: grpc.status.ABORTED,
  'deadline-exceeded': grpc.status.DEADLINE_EXCEEDED,
  'resource-exhausted': grpc.status.RESOURCE_EXHAUSTED,
  'failed-precondition': grpc.status.FAILED_PRECONDITION,
  unavailable: grpc.status.UNAVAILABLE,
};

export function toGrpcStatus(error: PlacementError): Partial<grpc.StatusObject> & { code: grpc.status; details: string } {
  return { code: codes[error.code], details: error.message };
}
