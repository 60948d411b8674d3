// What a sidecar reports about itself, in plain terms. The placement core works on these; the gRPC edge
// converts to and from Dapr's `dapr.proto.placement.v1.Host` (wire.ts). A table's `load_map` carries the host
// exactly as reported, so every field is kept, deprecated ones included.

/** `HostOperation` of Dapr's protocol: what a Host message is — a report, or the ack of a dissemination phase. */
export const HostOperation = { unknown: 0, report: 1, lock: 2, update: 3, unlock: 4 } as const;
export type HostOperation = (typeof HostOperation)[keyof typeof HostOperation];

export const operationNames: Record<HostOperation, string> = { 0: 'UNKNOWN', 1: 'REPORT', 2: 'LOCK', 3: 'UPDATE', 4: 'UNLOCK' };

export interface HostReport {
  /** `<ip>:<internal gRPC port>`: where actor calls go, and the host's key in the table. */
  name: string;
  /** App ID. */
  id: string;
  namespace: string;
  /** Actor types hosted, sorted (placement sorts them, as Dapr does). */
  entities: string[];
  operation: HostOperation;
  /** Present only on acks: the table version being acknowledged. */
  version?: number;
  /** Deprecated fields, kept so tables carry the host exactly as reported. */
  port: number;
  load: number;
  pod: string;
  apiLevel: number;
}

/**
 * True when two reports describe the same table membership. Dapr compares sorted entities, id and namespace;
 * tapr also compares the name, since it is the host's key in the table.
 */
export function sameMembership(a: HostReport, b: HostReport): boolean {
  if (a.name !== b.name || a.id !== b.id || a.namespace !== b.namespace || a.entities.length !== b.entities.length) return false;
  return a.entities.every((entity, i) => entity === b.entities[i]);
}

export function hostsActors(host: HostReport): boolean {
  return host.entities.length > 0;
}
