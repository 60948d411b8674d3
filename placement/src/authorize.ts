// Every Host message a sidecar sends is checked before the core sees it (spec §3.2): well-formed, about the
// caller itself (its certificate's app ID and namespace), and claiming only its own `dapr.internal.<ns>.<app>.*`
// actor types. tapr adds two checks Dapr lacks: a report must name its host (the table key), and its actor-type
// list is bounded, so one sidecar cannot blow up every table in its namespace.
import type { SpiffeId } from '@tapr/lib/security/spiffe';
import { HostOperation, type HostReport } from './host.js';
import { PlacementError } from './errors.js';

/** Most actor types one host may report. Real apps register a handful; workflows add a few internal ones. */
export const defaultMaxActorTypesPerHost = 1000;

export interface AuthorizeOptions {
  /** mTLS on: the caller must present a SPIFFE ID, and reports must match it. */
  mtls: boolean;
  maxActorTypesPerHost: number;
}

/** Throws a PlacementError (with the status to send) when `host` may not be accepted from `caller`. */
export function authorizeHost(host: HostReport, caller: SpiffeId | undefined, options: AuthorizeOptions): void {
  if (options.mtls && !caller) {
    throw new PlacementError('unauthenticated', 'failed to get client ID from context: the client certificate carries no SPIFFE ID');
  }
  if (host.operation === HostOperation.unknown && host.version !== undefined) {
    throw new PlacementError('invalid-argument', 'both operation and version must be set or both must be unset');
  }
  if (!(Object.values(HostOperation) as number[]).includes(host.operation)) {
    throw new PlacementError('invalid-argument', `unknown host operation ${host.operation}`);
  }
  if (host.id === '' || host.namespace === '') {
    throw new PlacementError('invalid-argument', 'host ID and namespace must be provided (fields id, namespace)');
  }
  if (caller) matchCaller(host, caller);
  if (host.operation === HostOperation.report || host.operation === HostOperation.unknown) checkReport(host, options);
}

function matchCaller(host: HostReport, caller: SpiffeId): void {
  if (host.id !== caller.appId) {
    throw new PlacementError('permission-denied', `provided app ID ${host.id} doesn't match the one in the SPIFFE ID (${caller.appId})`);
  }
  if (host.namespace !== caller.namespace) {
    throw new PlacementError(
      'permission-denied',
      `provided client namespace ${host.namespace} doesn't match the one in the SPIFFE ID (${caller.namespace})`,
    );
  }
}

function checkReport(host: HostReport, options: AuthorizeOptions): void {
  if (host.name === '') {
    throw new PlacementError('invalid-argument', 'host name must be provided (field name: "<address>:<port>" actors are called on)');
  }
  if (host.entities.length > options.maxActorTypesPerHost) {
    throw new PlacementError(
      'invalid-argument',
      `host ${host.name} reports ${host.entities.length} actor types (field entities); at most ${options.maxActorTypesPerHost} are accepted`,
    );
  }
  for (const entity of host.entities) {
    if (entity === '') throw new PlacementError('invalid-argument', `host ${host.name} reports an empty actor type (field entities)`);
    const parts = entity.split('.');
    // Internal actor types (workflows) are namespaced by app: `dapr.internal.<namespace>.<app-id>.<kind>`.
    if (parts.length >= 2 && parts[0] === 'dapr' && parts[1] === 'internal') {
      if (parts.length < 4 || parts[2] !== host.namespace || parts[3] !== host.id) {
        throw new PlacementError('permission-denied', `entity ${entity} is not allowed for app ID ${host.id} in namespace ${host.namespace}`);
      }
    }
  }
}
