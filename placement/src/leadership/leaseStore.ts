// The leader-election record, kept in a `coordination.k8s.io/v1` Lease. The interface lets the election logic
// be tested with a fake; KubeLeaseStore is the real one.
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';

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

export class KubeLeaseStore implements LeaseStore {
  readonly #api: CoordinationV1Api;
  readonly description: string;

  constructor(
    config: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
  ) {
    this.#api = config.makeApiClient(CoordinationV1Api);
    this.description = `Lease ${namespace}/${name}`;
  }

  async get(): Promise<StoredLease | undefined> {
    try {
      return fromLease(await this.#api.readNamespacedLease({ name: this.name, namespace: this.namespace }));
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw new Error(`cannot read ${this.description}: ${(error as Error).message}`, { cause: error });
    }
  }

  async create(record: LeaseRecord): Promise<StoredLease> {
    try {
      return fromLease(await this.#api.createNamespacedLease({ namespace: this.namespace, body: this.#toLease(record) }));
    } catch (error) {
      if (statusCode(error) === 409) throw new LeaseConflictError(`${this.description} was created by someone else`, { cause: error });
      throw new Error(`cannot create ${this.description}: ${(error as Error).message}`, { cause: error });
    }
  }

  async update(record: LeaseRecord, revision: string): Promise<StoredLease> {
    const body = this.#toLease(record);
    body.metadata!.resourceVersion = revision;
    try {
      return fromLease(await this.#api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }));
    } catch (error) {
      if (statusCode(error) === 409) throw new LeaseConflictError(`${this.description} changed since it was read`, { cause: error });
      throw new Error(`cannot update ${this.description}: ${(error as Error).message}`, { cause: error });
    }
  }

  #toLease(record: LeaseRecord): V1Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/name': 'dapr-placement-server', 'app.kubernetes.io/part-of': 'dapr' },
        annotations: record.actorHosts ? { [actorHostsAnnotation]: JSON.stringify(record.actorHosts) } : {},
      },
      spec: {
        holderIdentity: record.holder,
        leaseDurationSeconds: record.durationSeconds,
        acquireTime: new V1MicroTime(record.acquireTime.getTime()),
        renewTime: new V1MicroTime(record.renewTime.getTime()),
        leaseTransitions: record.transitions,
      },
    };
  }
}

function fromLease(lease: V1Lease): StoredLease {
  const spec = lease.spec ?? {};
  return {
    revision: lease.metadata?.resourceVersion ?? '',
    record: {
      holder: spec.holderIdentity ?? '',
      durationSeconds: spec.leaseDurationSeconds ?? 0,
      acquireTime: spec.acquireTime ? new Date(spec.acquireTime) : new Date(0),
      renewTime: spec.renewTime ? new Date(spec.renewTime) : new Date(0),
      transitions: spec.leaseTransitions ?? 0,
      actorHosts: parseActorHosts(lease.metadata?.annotations?.[actorHostsAnnotation]),
    },
  };
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

function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}
