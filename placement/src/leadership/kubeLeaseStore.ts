// The LeaseStore backed by a real `coordination.k8s.io/v1` Lease (optimistic concurrency by resourceVersion).
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { LeaseConflictError, actorHostsAnnotation, parseActorHosts, type LeaseRecord, type LeaseStore, type StoredLease } from './lease.js';

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

function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}
