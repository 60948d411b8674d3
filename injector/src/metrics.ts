// The injector's Prometheus metrics: Dapr's three counters (spec §11.8) plus an admission latency histogram.
import { Counter, Histogram, type Registry } from '@tapr/lib';
import type { OutcomeSummary } from './admission.js';

export class InjectorMetrics {
  readonly requests: Counter;
  readonly succeeded: Counter<'app_id'>;
  readonly failed: Counter<'app_id' | 'reason'>;
  readonly duration: Histogram<'result'>;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'dapr_injector_sidecar_injection_requests_total',
      help: 'The total number of sidecar injection requests.',
      registers: [registry],
    });
    this.succeeded = new Counter({
      name: 'dapr_injector_sidecar_injection_succeeded_total',
      help: 'The total number of successful sidecar injections.',
      labelNames: ['app_id'],
      registers: [registry],
    });
    this.failed = new Counter({
      name: 'dapr_injector_sidecar_injection_failed_total',
      help: 'The total number of failed sidecar injections (denied pods and unreadable requests), by reason.',
      labelNames: ['app_id', 'reason'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'dapr_injector_admission_duration_seconds',
      help: 'Time to answer an admission request, from the whole body received to the response written, by result.',
      labelNames: ['result'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1],
      registers: [registry],
    });
  }

  record(outcome: OutcomeSummary | { result: 'malformed' }, seconds: number): void {
    this.duration.observe({ result: outcome.result }, seconds);
    if (outcome.result === 'injected') this.succeeded.inc({ app_id: outcome.appId });
    else if (outcome.result === 'denied') this.failed.inc({ app_id: outcome.appId, reason: outcome.reason });
    else if (outcome.result === 'malformed') this.failed.inc({ app_id: '', reason: 'malformed_request' });
  }
}
