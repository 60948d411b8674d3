// The placement core: one event loop over PlacementEvent, routing each event to its namespace's disseminator.
// Namespaces are independent (own streams, versions, tables); a namespace exists while it has streams.
// Leadership gates it: before `leadershipGained` the edge refuses streams; after it, rounds are held until the
// settle policy says the sidecars are back (settle.ts).
import type { Logger } from '@tapr/lib/logger';
import { EventLoop } from './eventLoop.js';
import { NamespaceDisseminator, type BatchOptions, type DisseminatorObserver, type OrderCodec } from './disseminator.js';
import { SettlePolicy, type SettleOptions } from './settle.js';
import type { PlacementEvent, Timers } from './events.js';
import type { HostReport } from './host.js';
import { PlacementError } from './errors.js';

export interface PlacementCoreOptions {
  disseminateTimeoutMs: number;
  batch: BatchOptions;
  settle: SettleOptions;
  codec: OrderCodec;
  timers: Timers;
  observer: DisseminatorObserver;
  logger: Logger;
}

export interface NamespaceState {
  version: number;
  /** Hosts in the table at `version`, sorted by name. */
  hosts: HostReport[];
}

export class PlacementCore {
  readonly #loop: EventLoop<PlacementEvent>;
  readonly #namespaces = new Map<string, NamespaceDisseminator>();
  #leader = false;
  #settle: SettlePolicy | undefined;
  #cancelSettleCheck: (() => void) | undefined;
  #stopped = false;

  constructor(private readonly options: PlacementCoreOptions) {
    this.#loop = new EventLoop(
      (event) => this.#handle(event),
      (error, event) => options.logger.error('placement event failed', { event: event.kind, error }),
    );
  }

  enqueue(event: PlacementEvent): void {
    this.#loop.enqueue(event);
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** True while a new leader waits for sidecars before disseminating. */
  get settling(): boolean {
    return this.#settle !== undefined;
  }

  /** Actor hosts connected now, per namespace: what the Lease records for the next leader. */
  actorHostCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [name, ns] of this.#namespaces) if (ns.actorHostCount > 0) counts[name] = ns.actorHostCount;
    return counts;
  }

  /** Tables per namespace, as `/placement/state` shows them. */
  state(): Record<string, NamespaceState> {
    const out: Record<string, NamespaceState> = {};
    for (const [name, ns] of this.#namespaces) out[name] = { version: ns.version, hosts: ns.publishedHosts() };
    return out;
  }

  namespace(name: string): NamespaceDisseminator | undefined {
    return this.#namespaces.get(name);
  }

  #handle(event: PlacementEvent): void {
    if (this.#stopped) return;
    switch (event.kind) {
      case 'streamOpened': {
        const ns = this.#namespaceFor(event.host.namespace);
        ns.open(event.stream, event.host);
        if (this.#settle) {
          this.#settle.streamOpened(this.options.timers.now());
          this.#checkSettled();
        }
        break;
      }
      case 'hostReported':
        this.#namespaces.get(event.namespace)?.report(event.streamId, event.host);
        if (this.#settle) this.#checkSettled();
        break;
      case 'streamClosed': {
        const ns = this.#namespaces.get(event.namespace);
        // Streams the edge dropped (e.g. not reading) count as dropped; sidecars that left do not.
        if (ns?.has(event.streamId) && event.reason instanceof PlacementError) this.options.observer.streamDropped(event.namespace, event.reason.code);
        ns?.closed(event.streamId);
        break;
      }
      case 'roundTimedOut':
        this.#namespaces.get(event.namespace)?.timedOut(event.version);
        break;
      case 'batchDue':
        this.#namespaces.get(event.namespace)?.batchDue(event.token);
        break;
      case 'leadershipGained':
        this.#gainLeadership(event.expected);
        break;
      case 'settleCheck':
        this.#cancelSettleCheck = undefined;
        this.#checkSettled();
        break;
      case 'shutdown':
        this.#shutdown(event.reason);
        return;
    }
    if ('namespace' in event) this.#dropIfEmpty(event.namespace);
    else if (event.kind === 'streamOpened') this.#dropIfEmpty(event.host.namespace);
  }

  #namespaceFor(name: string): NamespaceDisseminator {
    let ns = this.#namespaces.get(name);
    if (!ns) {
      ns = new NamespaceDisseminator({
        namespace: name,
        disseminateTimeoutMs: this.options.disseminateTimeoutMs,
        batch: this.options.batch,
        held: this.#settle !== undefined,
        codec: this.options.codec,
        timers: this.options.timers,
        observer: this.options.observer,
        logger: this.options.logger,
      });
      this.#namespaces.set(name, ns);
    }
    return ns;
  }

  #dropIfEmpty(name: string): void {
    const ns = this.#namespaces.get(name);
    if (ns && ns.streamCount === 0) {
      ns.dispose();
      this.#namespaces.delete(name);
      this.options.observer.membership(name, { streams: 0, actorHosts: 0, actorTypes: 0 });
      this.options.logger.debug('namespace has no streams left', { namespace: name });
    }
  }

  #gainLeadership(expected: Record<string, number> | undefined): void {
    if (this.#leader) return;
    this.#leader = true;
    this.#settle = new SettlePolicy(this.options.settle, this.options.timers.now(), expected);
    this.options.logger.info('leader: collecting sidecar reports before the first dissemination', {
      expectedActorHosts: expected ?? 'unknown',
      maxWaitMs: this.options.settle.maxMs,
    });
    this.#checkSettled();
  }

  #checkSettled(): void {
    const settle = this.#settle;
    if (!settle) return;
    const decision = settle.decide(this.options.timers.now(), (name) => this.#namespaces.get(name)?.actorHostCount ?? 0);
    if (!decision.release) {
      this.#cancelSettleCheck?.();
      this.#cancelSettleCheck = this.options.timers.after(decision.recheckInMs, { kind: 'settleCheck' });
      return;
    }
    this.#cancelSettleCheck?.();
    this.#cancelSettleCheck = undefined;
    this.#settle = undefined;
    this.options.logger.info('leader: disseminating', { reason: decision.reason, namespaces: this.#namespaces.size });
    for (const ns of this.#namespaces.values()) ns.release();
  }

  #shutdown(reason: PlacementError): void {
    this.#stopped = true;
    this.#cancelSettleCheck?.();
    for (const [name, ns] of this.#namespaces) {
      ns.shutdown(reason);
      this.options.observer.membership(name, { streams: 0, actorHosts: 0, actorTypes: 0 });
    }
    this.#namespaces.clear();
    this.#loop.close();
  }
}
