// The scheduler's Prometheus metrics under Dapr's names (docs/scheduler-spec.md §1.5,
// pkg/scheduler/monitoring/metrics.go: Dapr's integration tests read them), plus tapr's own with the same prefix.
import { Counter, Gauge, Histogram, type Registry } from '@tapr/lib/metrics';

export type JobType = 'job' | 'actor';

export class SchedulerMetrics {
  readonly #connected: Gauge;
  readonly #created: Counter<'type'>;
  readonly #triggered: Counter<'type'>;
  readonly #failed: Counter<'type'>;
  readonly #undelivered: Counter<'type'>;
  readonly #latency: Histogram<'type'>;
  readonly #owned: Gauge;
  readonly #partitions: Gauge;
  readonly #triggeredChildren: Record<JobType, { count: { inc(): void }; latency: { observe(value: number): void } }>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#connected = new Gauge({ name: 'dapr_scheduler_sidecars_connected', help: 'The number of dapr sidecars actively connected to the scheduler service.', registers });
    const byType = { labelNames: ['type'] as const, registers };
    this.#created = new Counter({ name: 'dapr_scheduler_jobs_created_total', help: 'The total number of jobs scheduled.', ...byType });
    this.#triggered = new Counter({ name: 'dapr_scheduler_jobs_triggered_total', help: 'The total number of successfully triggered jobs.', ...byType });
    this.#failed = new Counter({ name: 'dapr_scheduler_jobs_failed_total', help: 'The total number of failed jobs.', ...byType });
    this.#undelivered = new Counter({ name: 'dapr_scheduler_jobs_undelivered_total', help: 'The total number of jobs that could not be delivered to any connected sidecar.', ...byType });
    this.#latency = new Histogram({
      name: 'dapr_scheduler_trigger_latency',
      help: 'The latency (ms) from a job being due to its successful delivery being acknowledged.',
      buckets: [0, 100, 500, 1000, 5000, 10000],
      ...byType,
    });
    this.#owned = new Gauge({ name: 'dapr_scheduler_tapr_owned_jobs', help: 'tapr: jobs this replica owns in the current partitioning.', registers });
    this.#partitions = new Gauge({ name: 'dapr_scheduler_tapr_partitions', help: 'tapr: replicas sharing the job space (0 while not agreed).', registers });
    // Bound once: every acknowledged trigger counts, and looking labels up per call costs more than the count.
    const bind = (type: JobType) => ({ count: this.#triggered.labels({ type }), latency: this.#latency.labels({ type }) });
    this.#triggeredChildren = { job: bind('job'), actor: bind('actor') };
  }

  sidecarsConnected(count: number): void {
    this.#connected.set(count);
  }
  created(type: JobType): void {
    this.#created.inc({ type });
  }
  triggered(type: JobType, latencyMs: number): void {
    const children = this.#triggeredChildren[type];
    children.count.inc();
    children.latency.observe(Math.max(0, latencyMs));
  }
  failed(type: JobType): void {
    this.#failed.inc({ type });
  }
  undelivered(type: JobType): void {
    this.#undelivered.inc({ type });
  }
  ownership(owned: number, partitions: number): void {
    this.#owned.set(owned);
    this.#partitions.set(partitions);
  }
}
