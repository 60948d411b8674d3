// Placement's Prometheus metrics. Dapr's four keep their names (spec §11.8: dashboards and Dapr's tests read
// them); tapr's additions use the same `dapr_placement_` prefix so they sit beside them.
import { Counter, Gauge, Histogram, type Registry } from '@tapr/lib/metrics';
import type { DisseminatorObserver } from './disseminator.js';

export class PlacementMetrics implements DisseminatorObserver {
  readonly #runtimes: Gauge<'host_namespace'>;
  readonly #actorRuntimes: Gauge<'host_namespace'>;
  readonly #actorTypes: Gauge<'host_namespace'>;
  readonly #leader: Gauge;
  readonly #raftLeader: Gauge;
  readonly #rounds: Counter<'host_namespace' | 'cause'>;
  readonly #roundSeconds: Histogram<'host_namespace'>;
  readonly #lockedSeconds: Counter<'host_namespace'>;
  readonly #version: Gauge<'host_namespace'>;
  readonly #dropped: Counter<'host_namespace' | 'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#runtimes = new Gauge({
      name: 'dapr_placement_runtimes_total',
      help: 'The total number of runtimes reported to placement service.',
      labelNames: ['host_namespace'],
      registers,
    });
    this.#actorRuntimes = new Gauge({
      name: 'dapr_placement_actor_runtimes_total',
      help: 'The total number of actor runtimes reported to placement service.',
      labelNames: ['host_namespace'],
      registers,
    });
    this.#leader = new Gauge({
      name: 'dapr_placement_leader_status',
      help: 'Placement server leadership status (1 for leader, 0 for not leader).',
      registers,
    });
    this.#raftLeader = new Gauge({
      name: 'dapr_placement_raft_leader_status',
      help: 'Raft server leadership status (1 for leader, 0 for not leader). tapr elects with a Kubernetes Lease; this mirrors dapr_placement_leader_status.',
      registers,
    });
    this.#actorTypes = new Gauge({
      name: 'dapr_placement_actor_types',
      help: 'Actor types served by at least one connected host.',
      labelNames: ['host_namespace'],
      registers,
    });
    this.#rounds = new Counter({
      name: 'dapr_placement_disseminations_total',
      help: 'Dissemination rounds started (lock sent to every stream), by cause: change, restart (a report changed mid-round), timeout.',
      labelNames: ['host_namespace', 'cause'],
      registers,
    });
    this.#roundSeconds = new Histogram({
      name: 'dapr_placement_dissemination_duration_seconds',
      help: 'Time from the first lock of a round to the last unlock acknowledgement.',
      labelNames: ['host_namespace'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#lockedSeconds = new Counter({
      name: 'dapr_placement_table_locked_seconds_total',
      help: 'Total time tables were locked (first lock to unlock sent): actor calls in the namespace wait meanwhile.',
      labelNames: ['host_namespace'],
      registers,
    });
    this.#version = new Gauge({
      name: 'dapr_placement_table_version',
      help: 'Version of the latest table disseminated in the namespace.',
      labelNames: ['host_namespace'],
      registers,
    });
    this.#dropped = new Counter({
      name: 'dapr_placement_streams_dropped_total',
      help: 'Streams placement closed, by reason (deadline-exceeded, resource-exhausted, already-exists, aborted, ...).',
      labelNames: ['host_namespace', 'reason'],
      registers,
    });
    this.leader(false);
  }

  leader(isLeader: boolean): void {
    this.#leader.set(isLeader ? 1 : 0);
    this.#raftLeader.set(isLeader ? 1 : 0);
  }

  membership(namespace: string, counts: { streams: number; actorHosts: number; actorTypes: number }): void {
    this.#runtimes.set({ host_namespace: namespace }, counts.streams);
    this.#actorRuntimes.set({ host_namespace: namespace }, counts.actorHosts);
    this.#actorTypes.set({ host_namespace: namespace }, counts.actorTypes);
  }

  roundStarted(namespace: string, _version: number, cause: 'change' | 'restart' | 'timeout'): void {
    this.#rounds.inc({ host_namespace: namespace, cause });
  }

  roundCompleted(namespace: string, version: number, durationMs: number, lockedMs: number): void {
    this.#roundSeconds.observe({ host_namespace: namespace }, durationMs / 1000);
    this.#lockedSeconds.inc({ host_namespace: namespace }, lockedMs / 1000);
    this.#version.set({ host_namespace: namespace }, version);
  }

  streamDropped(namespace: string, reason: string): void {
    this.#dropped.inc({ host_namespace: namespace, reason });
  }
}
