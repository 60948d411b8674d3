// Who may touch which jobs (docs/scheduler-spec.md §2; Dapr pkg/scheduler/server/internal/authz): the request's
// namespace and app id must be given, and with mTLS they must be the caller's SPIFFE ID's. Actor type and id are
// not checked (any app of a namespace may manage that namespace's reminders), nor the trust domain — as in Dapr.
import { status } from '@grpc/grpc-js';
import type { SpiffeId } from '@tapr/lib/security/spiffe';
import { SchedulerError } from './errors.js';

export interface Caller {
  /** False without mTLS: only the presence checks apply. */
  mtls: boolean;
  id: SpiffeId | undefined;
}

export function authorize(caller: Caller, request: { namespace?: string | undefined; appId?: string | undefined }): void {
  if (!request.namespace || !request.appId) throw new SchedulerError(status.INVALID_ARGUMENT, 'missing namespace or appID in request');
  if (!caller.mtls) return;
  if (!caller.id) throw new SchedulerError(status.UNAUTHENTICATED, 'failed to get identity from context');
  if (caller.id.namespace !== request.namespace || caller.id.appId !== request.appId) {
    throw new SchedulerError(status.PERMISSION_DENIED, 'identity does not match request');
  }
}
