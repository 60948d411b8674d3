// An in-memory LeaseStore with optimistic concurrency, for unit tests of the election.
import { LeaseConflictError, type LeaseRecord, type LeaseStore, type StoredLease } from './lease.js';

export class FakeLeaseStore implements LeaseStore {
  readonly description = 'Lease test/fake';
  #lease: StoredLease | undefined;
  #revision = 0;
  /** When set, every call fails with this error (an unreachable API server). */
  failWith: Error | undefined;
  readonly writes: LeaseRecord[] = [];

  async get(): Promise<StoredLease | undefined> {
    if (this.failWith) throw this.failWith;
    return this.#lease && structuredClone(this.#lease);
  }

  async create(record: LeaseRecord): Promise<StoredLease> {
    if (this.failWith) throw this.failWith;
    if (this.#lease) throw new LeaseConflictError('exists');
    return this.#store(record);
  }

  async update(record: LeaseRecord, revision: string): Promise<StoredLease> {
    if (this.failWith) throw this.failWith;
    if (!this.#lease || this.#lease.revision !== revision) throw new LeaseConflictError('changed');
    return this.#store(record);
  }

  /** Another instance writes the Lease. */
  force(record: LeaseRecord): void {
    this.#store(record);
  }

  get current(): LeaseRecord | undefined {
    return this.#lease?.record;
  }

  #store(record: LeaseRecord): StoredLease {
    this.writes.push(structuredClone(record));
    this.#lease = { record: structuredClone(record), revision: String(++this.#revision) };
    return structuredClone(this.#lease);
  }
}
