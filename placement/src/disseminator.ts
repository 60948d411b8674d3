// One namespace's membership and its dissemination rounds (spec §3.3). A round tells every stream of the
// namespace `lock`, waits for all LOCK acks, sends `update` with the table, waits for all UPDATE acks, sends
// `unlock`, waits for all UNLOCK acks. Versions count rounds (first round = 1).
//
// Where tapr differs from Dapr 1.17 (same wire messages, fewer rounds):
//   - Batching: a change while idle does not start a round at once. The round starts when no further change has
//     come for `batch.quietMs`, or `batch.maxDelayMs` after the first pending change — so a rolling restart's
//     leaves and joins share a few rounds. Both 0 = Dapr's behaviour (a round per change).
//   - A new stream gets the current table at once through the one-shot lock/update/unlock Dapr sends to hosts
//     without actors (acks ignored), so its sidecar is ready while its own actor types wait for the next round.
//   - Held: a new leader collects reports but sends nothing until it has waited for the sidecars to come back.
// As in Dapr: a changed report mid-round restarts the round; streams arriving mid-round wait for its end; a
// stream closing mid-round stops counting towards it; on timeout, streams that have not acked are closed.
import type { Logger } from '@tapr/lib/logger';
import { HostOperation, hostsActors, operationNames, sameMembership, type HostReport } from './host.js';
import { PlacementError } from './errors.js';
import type { EncodedOrder, StreamPort, Timers } from './events.js';

export interface OrderCodec {
  lock(version: number): EncodedOrder;
  /** The `update` order carrying the table of `hosts` (hosts with actor types only). */
  update(version: number, hosts: readonly HostReport[]): EncodedOrder;
  unlock(version: number): EncodedOrder;
}

export interface DisseminatorObserver {
  membership(namespace: string, counts: { streams: number; actorHosts: number; actorTypes: number }): void;
  roundStarted(namespace: string, version: number, cause: 'change' | 'restart' | 'timeout'): void;
  /** `lockedMs`: from the first `lock` to `unlock` being sent. */
  roundCompleted(namespace: string, version: number, durationMs: number, lockedMs: number): void;
  streamDropped(namespace: string, reason: PlacementError['code']): void;
}

export interface BatchOptions {
  quietMs: number;
  maxDelayMs: number;
}

export interface DisseminatorOptions {
  namespace: string;
  disseminateTimeoutMs: number;
  batch: BatchOptions;
  /** Starts held (a new leader that has not finished waiting for sidecars to reconnect). */
  held: boolean;
  codec: OrderCodec;
  timers: Timers;
  observer: DisseminatorObserver;
  logger: Logger;
}

type Phase = 'idle' | 'lock' | 'update' | 'unlock';
const phaseAck: Record<Exclude<Phase, 'idle'>, HostOperation> = {
  lock: HostOperation.lock,
  update: HostOperation.update,
  unlock: HostOperation.unlock,
};

interface StreamEntry {
  port: StreamPort;
  host: HostReport;
  /** The phase of the current round this stream has acked. */
  acked: Phase | 'none';
  /** Version of a one-shot table push in flight: its acks are not part of any round. */
  oneShotVersion?: number;
}

export class NamespaceDisseminator {
  readonly namespace: string;
  readonly #streams = new Map<number, StreamEntry>();
  /** Streams that opened during a round: admitted when it ends. */
  #waiting: Array<{ port: StreamPort; host: HostReport }> = [];
  /** The next table: stream → host, for streams whose host has actor types. */
  readonly #desired = new Map<number, HostReport>();
  readonly #nameOwner = new Map<string, number>();
  /** How many hosts in #desired serve each actor type. */
  readonly #typeCounts = new Map<string, number>();
  /** Streams that joined (or re-reported without actors) and still need the current table. */
  readonly #needsTable = new Set<number>();
  /** The table at #version (sent, or being sent). */
  #published: HostReport[] = [];
  #publishedUpdate: EncodedOrder | undefined;
  #version = 0;
  #phase: Phase = 'idle';
  #acks = 0;
  #dirtySince: number | undefined;
  #lastChangeAt = 0;
  #held: boolean;
  #cancelTimeout: (() => void) | undefined;
  #cancelBatch: (() => void) | undefined;
  #batchToken = 0;
  #roundStartedAt = 0;
  #lockedSince: number | undefined;
  #lockedMs = 0;

  constructor(private readonly options: DisseminatorOptions) {
    this.namespace = options.namespace;
    this.#held = options.held;
  }

  get version(): number {
    return this.#version;
  }
  get phase(): Phase {
    return this.#phase;
  }
  get streamCount(): number {
    return this.#streams.size + this.#waiting.length;
  }
  /** Hosts with actor types, connected now (what the next table holds). */
  get actorHostCount(): number {
    return this.#desired.size;
  }
  /** Hosts in the table at the current version, sorted by name. */
  publishedHosts(): HostReport[] {
    return [...this.#published].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  has(streamId: number): boolean {
    return this.#streams.has(streamId) || this.#waiting.some((w) => w.port.id === streamId);
  }

  open(port: StreamPort, host: HostReport): void {
    if (this.#phase !== 'idle') {
      this.#waiting.push({ port, host });
      this.#observeMembership();
      return;
    }
    this.#admit(port, host);
    this.#afterChange();
  }

  report(streamId: number, host: HostReport): void {
    const entry = this.#streams.get(streamId);
    if (!entry) {
      const waiting = this.#waiting.find((w) => w.port.id === streamId);
      if (waiting && (host.operation === HostOperation.report || host.operation === HostOperation.unknown)) waiting.host = host;
      return;
    }
    if (host.version !== undefined && host.version < this.#version) {
      this.options.logger.debug('ignoring a report for an old version', { stream: streamId, version: host.version, current: this.#version });
      return;
    }
    const operation = host.operation === HostOperation.unknown ? this.#currentOperation() : host.operation;
    if (entry.oneShotVersion !== undefined && operation !== HostOperation.report && host.version === entry.oneShotVersion) {
      if (operation === HostOperation.unlock) entry.oneShotVersion = undefined;
      return;
    }
    if (operation === HostOperation.report) this.#onReport(streamId, entry, host);
    else this.#onAck(streamId, entry, operation, host.version);
  }

  closed(streamId: number): void {
    const waitingIndex = this.#waiting.findIndex((w) => w.port.id === streamId);
    if (waitingIndex >= 0) {
      this.#waiting.splice(waitingIndex, 1);
      this.#observeMembership();
      return;
    }
    if (!this.#streams.has(streamId)) return;
    this.#remove(streamId);
    if (this.#phase === 'idle') this.#afterChange();
    else this.#advanceWhileComplete();
  }

  timedOut(version: number): void {
    if (version !== this.#version || this.#phase === 'idle') return;
    const phase = this.#phase;
    const error = new PlacementError(
      'deadline-exceeded',
      `dissemination timeout after ${this.options.disseminateTimeoutMs / 1000}s for version ${version}`,
    );
    const late = [...this.#streams].filter(([, entry]) => entry.acked !== phase);
    this.options.logger.warn('dissemination timed out; closing the streams that did not acknowledge', {
      namespace: this.namespace,
      version,
      phase,
      streams: late.length,
    });
    for (const [id, entry] of late) {
      this.options.logger.warn('closing non-responding stream', { namespace: this.namespace, stream: id, peer: entry.port.peer, host: entry.host.name });
      entry.port.close(error);
      this.options.observer.streamDropped(this.namespace, 'deadline-exceeded');
      this.#remove(id);
    }
    // The streams that did ack are locked at this version: a new round (re-lock, update, unlock) frees them.
    this.#startRound('timeout');
  }

  batchDue(token: number): void {
    if (token !== this.#batchToken || this.#phase !== 'idle' || this.#held) return;
    this.#cancelBatch = undefined;
    if (this.#dirtySince !== undefined) this.#startRound('change');
  }

  /** The new leader has waited long enough: disseminate what was collected. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    if (this.#dirtySince !== undefined && this.#phase === 'idle') this.#startRound('change');
    else this.#afterChange();
  }

  /** Cancels the timers of a namespace that has no streams left. */
  dispose(): void {
    this.#cancelTimeout?.();
    this.#cancelBatch?.();
    this.#cancelTimeout = undefined;
    this.#cancelBatch = undefined;
  }

  shutdown(reason: PlacementError): void {
    this.dispose();
    for (const entry of this.#streams.values()) entry.port.close(reason);
    for (const waiting of this.#waiting) waiting.port.close(reason);
    this.#streams.clear();
    this.#needsTable.clear();
    this.#waiting = [];
    this.#desired.clear();
    this.#nameOwner.clear();
    this.#typeCounts.clear();
    this.#observeMembership();
  }

  #currentOperation(): HostOperation {
    return this.#phase === 'idle' ? HostOperation.report : phaseAck[this.#phase];
  }

  /** Adds a stream; returns false when its host was refused (the stream is closed). */
  #admit(port: StreamPort, host: HostReport): boolean {
    const entry: StreamEntry = { port, host, acked: 'none' };
    this.#streams.set(port.id, entry);
    this.#needsTable.add(port.id);
    if (hostsActors(host) && !this.#setDesired(port.id, host)) return false;
    this.#observeMembership();
    return true;
  }

  #onReport(streamId: number, entry: StreamEntry, host: HostReport): void {
    entry.host = host;
    const before = this.#desired.get(streamId);
    const changed = before ? !sameMembership(before, host) : hostsActors(host);
    if (!changed) {
      // Dapr answers an unchanged report from a host outside the table with the current table, one-shot.
      if (!before) this.#needsTable.add(streamId);
      if (this.#phase === 'idle') this.#afterChange();
      return;
    }
    if (hostsActors(host)) {
      if (!this.#setDesired(streamId, host)) {
        if (this.#phase === 'idle') this.#afterChange();
        else this.#advanceWhileComplete();
        return;
      }
    } else {
      this.#deleteDesired(streamId);
      this.#needsTable.add(streamId);
    }
    this.#observeMembership();
    if (this.#phase === 'idle') this.#afterChange();
    else this.#startRound('restart');
  }

  #onAck(streamId: number, entry: StreamEntry, operation: HostOperation, version: number | undefined): void {
    const phase = this.#phase;
    if (phase === 'idle' || (version !== undefined && version > this.#version) || phaseAck[phase] !== operation) {
      this.options.logger.debug('ignoring an acknowledgement outside the current phase', {
        namespace: this.namespace,
        stream: streamId,
        operation: operationNames[operation],
        version,
        phase,
        current: this.#version,
      });
      return;
    }
    if (entry.acked !== phase) {
      entry.acked = phase;
      this.#acks++;
    }
    this.#advanceWhileComplete();
  }

  /** Records `host` as the stream's table entry; refuses a host name another app already holds. */
  #setDesired(streamId: number, host: HostReport): boolean {
    const owner = this.#nameOwner.get(host.name);
    if (owner !== undefined && owner !== streamId) {
      const holder = this.#desired.get(owner)!;
      if (holder.id !== host.id) {
        const error = new PlacementError(
          'already-exists',
          `host name ${host.name} is already registered by app ${holder.id} in namespace ${this.namespace}; app ${host.id} cannot report it`,
        );
        this.options.logger.warn('refusing a duplicate host name', { namespace: this.namespace, host: host.name, app: host.id, holder: holder.id });
        this.#streams.get(streamId)?.port.close(error);
        this.options.observer.streamDropped(this.namespace, 'already-exists');
        this.#remove(streamId);
        return false;
      }
      // Same app, same address: the sidecar reconnected before its old stream was seen to close.
      const old = this.#streams.get(owner);
      this.options.logger.info('a newer stream replaces the stream of the same host', { namespace: this.namespace, host: host.name, old: owner, new: streamId });
      old?.port.close(new PlacementError('aborted', `stream replaced by a newer stream for host ${host.name}`));
      this.options.observer.streamDropped(this.namespace, 'aborted');
      this.#remove(owner);
    }
    const previous = this.#desired.get(streamId);
    if (previous) {
      if (previous.name !== host.name) this.#nameOwner.delete(previous.name);
      this.#countTypes(previous, -1);
    }
    this.#desired.set(streamId, host);
    this.#nameOwner.set(host.name, streamId);
    this.#countTypes(host, 1);
    this.#markDirty();
    return true;
  }

  #deleteDesired(streamId: number): void {
    const previous = this.#desired.get(streamId);
    if (!previous) return;
    this.#desired.delete(streamId);
    if (this.#nameOwner.get(previous.name) === streamId) this.#nameOwner.delete(previous.name);
    this.#countTypes(previous, -1);
    this.#markDirty();
  }

  #countTypes(host: HostReport, delta: 1 | -1): void {
    for (const entity of host.entities) {
      const count = (this.#typeCounts.get(entity) ?? 0) + delta;
      if (count > 0) this.#typeCounts.set(entity, count);
      else this.#typeCounts.delete(entity);
    }
  }

  #remove(streamId: number): void {
    const entry = this.#streams.get(streamId);
    if (!entry) return;
    this.#streams.delete(streamId);
    this.#needsTable.delete(streamId);
    if (this.#phase !== 'idle' && entry.acked === this.#phase) this.#acks--;
    this.#deleteDesired(streamId);
    this.#observeMembership();
  }

  #markDirty(): void {
    const now = this.options.timers.now();
    this.#dirtySince ??= now;
    this.#lastChangeAt = now;
  }

  /** Idle: start a round if pending changes are due, else (re)arm the batch timer; give new streams the table. */
  #afterChange(): void {
    if (this.#held || this.#phase !== 'idle') return;
    if (this.#dirtySince !== undefined) {
      const { quietMs, maxDelayMs } = this.options.batch;
      const due = Math.min(this.#lastChangeAt + quietMs, this.#dirtySince + maxDelayMs);
      const now = this.options.timers.now();
      if (due <= now) {
        this.#startRound('change');
        return;
      }
      this.#cancelBatch?.();
      this.#cancelBatch = this.options.timers.after(due - now, { kind: 'batchDue', namespace: this.namespace, token: ++this.#batchToken });
    }
    for (const id of this.#needsTable) {
      const entry = this.#streams.get(id);
      if (entry) this.#sendOneShot(entry);
    }
    this.#needsTable.clear();
  }

  #sendOneShot(entry: StreamEntry): void {
    entry.oneShotVersion = this.#version;
    entry.port.send(this.options.codec.lock(this.#version));
    entry.port.send(this.#updateOrder());
    entry.port.send(this.options.codec.unlock(this.#version));
  }

  #updateOrder(): EncodedOrder {
    this.#publishedUpdate ??= this.options.codec.update(this.#version, this.#published);
    return this.#publishedUpdate;
  }

  #startRound(cause: 'change' | 'restart' | 'timeout'): void {
    this.#cancelTimeout?.();
    this.#cancelTimeout = undefined;
    this.#cancelBatch?.();
    this.#cancelBatch = undefined;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const { port, host } of waiting) this.#admit(port, host);
    this.#dirtySince = undefined;
    if (this.#streams.size === 0) {
      this.#phase = 'idle';
      this.#lockedSince = undefined;
      return;
    }
    const now = this.options.timers.now();
    if (this.#phase === 'idle') {
      this.#roundStartedAt = now;
      this.#lockedSince = now;
    }
    this.#version++;
    this.#published = [...this.#desired.values()];
    this.#publishedUpdate = undefined;
    this.#phase = 'lock';
    this.#acks = 0;
    const lock = this.options.codec.lock(this.#version);
    this.#needsTable.clear();
    for (const entry of this.#streams.values()) {
      entry.acked = 'none';
      entry.oneShotVersion = undefined;
      entry.port.send(lock);
    }
    this.#cancelTimeout = this.options.timers.after(this.options.disseminateTimeoutMs, {
      kind: 'roundTimedOut',
      namespace: this.namespace,
      version: this.#version,
    });
    this.options.observer.roundStarted(this.namespace, this.#version, cause);
    this.options.logger.debug('dissemination round started', {
      namespace: this.namespace,
      version: this.#version,
      cause,
      hosts: this.#published.length,
      streams: this.#streams.size,
    });
  }

  #advanceWhileComplete(): void {
    while (this.#phase !== 'idle' && this.#acks >= this.#streams.size) {
      this.#acks = 0;
      if (this.#phase === 'lock') {
        this.#phase = 'update';
        const update = this.#updateOrder();
        for (const entry of this.#streams.values()) entry.port.send(update);
      } else if (this.#phase === 'update') {
        this.#phase = 'unlock';
        if (this.#lockedSince !== undefined) this.#lockedMs = this.options.timers.now() - this.#lockedSince;
        this.#lockedSince = undefined;
        const unlock = this.options.codec.unlock(this.#version);
        for (const entry of this.#streams.values()) entry.port.send(unlock);
      } else {
        this.#roundDone();
      }
    }
  }

  #roundDone(): void {
    this.#phase = 'idle';
    this.#cancelTimeout?.();
    this.#cancelTimeout = undefined;
    const durationMs = this.options.timers.now() - this.#roundStartedAt;
    this.options.observer.roundCompleted(this.namespace, this.#version, durationMs, this.#lockedMs);
    this.options.logger.info('dissemination complete', {
      namespace: this.namespace,
      version: this.#version,
      hosts: this.#published.length,
      streams: this.#streams.size,
      durationMs,
    });
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const { port, host } of waiting) this.#admit(port, host);
    this.#afterChange();
  }

  #observeMembership(): void {
    this.options.observer.membership(this.namespace, {
      streams: this.streamCount,
      actorHosts: this.#desired.size,
      actorTypes: this.#typeCounts.size,
    });
  }
}
