// Leader election with a coordination.k8s.io/v1 Lease, as client-go's leaderelection package does it (the Lease
// `operator.dapr.io` that Dapr's controller-runtime manager uses): a candidate takes the Lease when it is free or
// its holder has not renewed it for a lease duration — judged by our own clock from when we last saw it change, so
// clock skew between nodes does not matter — renews it every retry period, and stops leading when it cannot renew
// within the renew deadline. On a graceful stop the holder releases the Lease so another replica takes over at once.
// A leader may keep annotations on the Lease (state for its successor, e.g. placement's actor-host counts): they
// are written at every renewal, survive the release, and are handed to the next leader when it takes the Lease.
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { abortableDelay } from '../delay.js';
import { isConflict, isNotFound, type KubeHttp } from './kubeHttp.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec?: LeaseSpec;
}

/** What a replica learns when it takes the Lease. */
export interface LeaderTerm {
  /** The Lease's annotations when this replica took it: what the previous leader last wrote ({} for a new Lease). */
  previousAnnotations: Readonly<Record<string, string>>;
}

export interface LeaderElectionOptions {
  http: KubeHttp;
  namespace: string;
  name: string;
  /** Unique per replica; defaults to `<hostname>_<uuid>` like controller-runtime. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  /** Told whenever leadership starts (true) or ends (false). */
  onChange?: (leading: boolean) => void;
  /**
   * Annotations the leader writes on the Lease at every renewal (merged into those it has). A take-over keeps the
   * previous leader's until the first renewal; a release keeps the last ones written.
   */
  annotations?: () => Record<string, string>;
  /** For tests: the clock. */
  now?: () => number;
}

export const defaultLeaseDurationMs = 15_000;
export const defaultRenewDeadlineMs = 10_000;
export const defaultRetryPeriodMs = 2_000;

export class LeaderElector {
  readonly identity: string;
  #observed: LeaseSpec | undefined;
  #observedAt = 0;
  #lease: Lease | undefined;
  #previousAnnotations: Record<string, string> = {};
  #leading = false;

  constructor(private readonly options: LeaderElectionOptions) {
    this.identity = options.identity ?? `${os.hostname()}_${randomUUID()}`;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /**
   * Campaigns until `signal` aborts; while this replica leads, runs `lead` with a signal that aborts when
   * leadership is lost (then campaigns again). On abort, stops `lead`, waits for it and releases the Lease.
   */
  async run(signal: AbortSignal, lead: (leading: AbortSignal, term: LeaderTerm) => Promise<void>): Promise<void> {
    const { logger } = this.options;
    while (!signal.aborted) {
      if (!(await this.#acquire(signal))) break;
      this.#setLeading(true);
      logger.info('became leader', { lease: `${this.options.namespace}/${this.options.name}`, identity: this.identity });
      const term = new AbortController();
      const onStop = () => term.abort();
      signal.addEventListener('abort', onStop, { once: true });
      const work = lead(term.signal, { previousAnnotations: this.#previousAnnotations }).catch((error: unknown) => {
        logger.error('leader work failed; giving up leadership', { error });
      });
      await Promise.race([this.#renewLoop(term.signal), work.then(() => term.abort())]);
      term.abort();
      await work;
      signal.removeEventListener('abort', onStop);
      this.#setLeading(false);
      if (signal.aborted) {
        await this.#release();
        break;
      }
      logger.warn('lost leadership; campaigning again', { identity: this.identity });
    }
  }

  #setLeading(leading: boolean): void {
    this.#leading = leading;
    this.options.onChange?.(leading);
  }

  async #acquire(signal: AbortSignal): Promise<boolean> {
    let announced = false;
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew(false)) return true;
      if (!announced && this.#observed?.holderIdentity) {
        this.options.logger.info('waiting for leadership', { leader: this.#observed.holderIdentity });
        announced = true;
      }
      await abortableDelay(this.#retryPeriod() * (1 + Math.random() * 0.2), signal);
    }
    return false;
  }

  /**
   * Renews every retry period; returns when renewing failed for longer than the renew deadline (or on abort). An
   * attempt that hangs (a partitioned API server) counts as failing once the deadline passes, so a cut-off leader
   * stops leading before its lease can expire for the others.
   */
  async #renewLoop(signal: AbortSignal): Promise<void> {
    const deadline = this.options.renewDeadlineMs ?? defaultRenewDeadlineMs;
    let lastRenew = this.#now();
    while (!signal.aborted) {
      await abortableDelay(this.#retryPeriod(), signal);
      if (signal.aborted) return;
      const remaining = Math.max(0, deadline - (this.#now() - lastRenew));
      let timer: NodeJS.Timeout | undefined;
      const renewed = await Promise.race([
        this.#tryAcquireOrRenew(true),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), remaining))),
      ]);
      clearTimeout(timer);
      if (renewed === true) {
        lastRenew = this.#now();
      } else if (renewed === false && this.#observed?.holderIdentity && this.#observed.holderIdentity !== this.identity) {
        this.options.logger.warn('another replica holds the lease now', { leader: this.#observed.holderIdentity });
        return;
      } else if (this.#now() - lastRenew >= deadline) {
        this.options.logger.warn('could not renew the lease within the renew deadline', { deadlineMs: deadline });
        return;
      }
    }
  }

  /** `renewing`: this replica leads (its annotations are written); otherwise it is taking the Lease. */
  async #tryAcquireOrRenew(renewing: boolean): Promise<boolean> {
    const { http, logger } = this.options;
    const now = this.#now();
    const durationSeconds = Math.ceil((this.options.leaseDurationMs ?? defaultLeaseDurationMs) / 1000);
    let current: Lease;
    try {
      current = await http.request<Lease>('GET', this.#path(this.options.name), { timeoutMs: this.#retryPeriod() * 2 });
    } catch (error) {
      if (!isNotFound(error)) {
        logger.warn('cannot read the lease', { error });
        return false;
      }
      const spec: LeaseSpec = { holderIdentity: this.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 };
      try {
        const created = await http.request<Lease>('POST', this.#path(), {
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.options.name, namespace: this.options.namespace }, spec },
        });
        this.#observe(created);
        this.#previousAnnotations = {};
        return true;
      } catch (createError) {
        if (!isConflict(createError)) logger.warn('cannot create the lease', { error: createError });
        return false;
      }
    }
    this.#observe(current);
    const spec = current.spec ?? {};
    const held = Boolean(spec.holderIdentity) && spec.holderIdentity !== this.identity;
    const durationMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (held && this.#observedAt + durationMs > now) return false;
    const next: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: spec.holderIdentity === this.identity ? spec.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (spec.holderIdentity === this.identity ? 0 : 1),
    };
    const annotations = renewing && this.options.annotations ? { ...current.metadata.annotations, ...this.options.annotations() } : current.metadata.annotations;
    try {
      const updated = await http.request<Lease>('PUT', this.#path(this.options.name), { body: { ...current, metadata: { ...current.metadata, annotations }, spec: next } });
      this.#observe(updated);
      if (!renewing) this.#previousAnnotations = { ...current.metadata.annotations };
      return true;
    } catch (error) {
      if (!isConflict(error)) logger.warn('cannot update the lease', { error });
      return false;
    }
  }

  async #release(): Promise<void> {
    const lease = this.#lease;
    if (!lease?.metadata.resourceVersion || this.#observed?.holderIdentity !== this.identity) return;
    const now = this.#now();
    try {
      await this.options.http.request('PUT', this.#path(this.options.name), {
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: lease.metadata,
          spec: { leaseDurationSeconds: 1, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: this.#observed.leaseTransitions ?? 0 },
        },
        timeoutMs: 3000,
      });
      this.options.logger.info('released the lease', { lease: `${this.options.namespace}/${this.options.name}` });
    } catch (error) {
      this.options.logger.warn('cannot release the lease; another replica takes over when it expires', { error });
    }
  }

  #observe(lease: Lease): void {
    const spec = lease.spec ?? {};
    if (!this.#observed || this.#observed.holderIdentity !== spec.holderIdentity || this.#observed.renewTime !== spec.renewTime) {
      this.#observedAt = this.#now();
    }
    this.#observed = spec;
    this.#lease = lease;
  }

  #path(name?: string): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.options.namespace)}/leases`;
    return name ? `${base}/${encodeURIComponent(name)}` : base;
  }

  #retryPeriod(): number {
    return this.options.retryPeriodMs ?? defaultRetryPeriodMs;
  }

  #now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
