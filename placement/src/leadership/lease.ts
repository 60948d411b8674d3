// The leader-election record kept in a `coordination.k8s.io/v1` Lease, in plain terms. The LeaseStore interface
// lets the election logic be tested with a fake; kubeLeaseStore.ts is the real one (loaded only in HA mode).

/** Annotation on the Lease: actor hosts per namespace the leader had (JSON), for the next leader's wait. */
export const actorHostsAnnotation = 'placement.tapr.dev/actor-hosts';

export interface LeaseRecord {
  /** Empty when released. */
  holder: string;
  durationSeconds: number;
  acquireTime: Date;
  renewTime: Date;
  transitions: number;
  actorHosts?: Record<string, number>;
}

export interface StoredLease {
  record: LeaseRecord;
  /** Optimistic-concurrency token (the object's resourceVersion). */
  revision: string;
}

/** Another writer changed the Lease since it was read. */
export class LeaseConflictError extends Error {}

export interface LeaseStore {
  readonly description: string;
  get(): Promise<StoredLease | undefined>;
  /** Creates the Lease; LeaseConflictError if it exists. */
  create(record: LeaseRecord): Promise<StoredLease>;
  /** Replaces the Lease read at `revision`; LeaseConflictError if it changed since. */
  update(record: LeaseRecord, revision: string): Promise<StoredLease>;
}

/** The annotation's counts, or undefined when absent or not a JSON object of non-negative integers. */
export function parseActorHosts(text: string | undefined): Record<string, number> | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const entries = Object.entries(value as Record<string, unknown>);
    if (!entries.every(([, n]) => Number.isInteger(n) && (n as number) >= 0)) return undefined;
    return Object.fromEntries(entries) as Record<string, number>;
  } catch {
    return undefined;
  }
}

