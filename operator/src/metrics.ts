// The operator's Prometheus metrics. Dapr's own three (spec §11.8) keep their names; the rest are tapr's and say
// what an operator of the operator wants to see: connected streams, deliveries, bad resources, leadership.
import { Counter, Gauge, type Registry } from '@tapr/lib/metrics';

export interface OperatorMetrics {
  serviceCreated: Counter<'app_id'>;
  serviceUpdated: Counter<'app_id'>;
  serviceDeleted: Counter<'app_id'>;
  updateStreams: Gauge<'kind'>;
  updateEventsSent: Counter<'kind'>;
  updateStreamsDropped: Counter<'kind'>;
  invalidResources: Gauge<'kind'>;
  resourceProblems: Counter<'kind' | 'reason'>;
  secretFailures: Counter<'kind' | 'failure'>;
  leader: Gauge;
  /** Reports an informer's sync state, cache size and list count on every scrape. */
  trackInformer(informer: InformerStats): void;
}

export interface InformerStats {
  readonly name: string;
  readonly synced: boolean;
  readonly size: number;
  readonly lists: number;
}

export function createOperatorMetrics(registry: Registry): OperatorMetrics {
  const registers = [registry];
  const informers = new Set<InformerStats>();
  const informerGauge = (name: string, help: string, read: (informer: InformerStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['resource'],
      registers,
      collect() {
        for (const informer of informers) this.set({ resource: informer.name }, read(informer));
      },
    });
  informerGauge('dapr_operator_informer_synced', '1 once the informer has listed its resource.', (i) => (i.synced ? 1 : 0));
  informerGauge('dapr_operator_informer_cached_objects', 'Objects held in the informer cache.', (i) => i.size);
  informerGauge('dapr_operator_informer_lists', 'Full lists made by the informer (1, plus one per 410 Gone).', (i) => i.lists);
  return {
    trackInformer: (informer) => void informers.add(informer),
    serviceCreated: new Counter({ name: 'dapr_operator_service_created_total', help: 'The total number of dapr services created.', labelNames: ['app_id'], registers }),
    serviceUpdated: new Counter({ name: 'dapr_operator_service_updated_total', help: 'The total number of dapr services updated.', labelNames: ['app_id'], registers }),
    serviceDeleted: new Counter({ name: 'dapr_operator_service_deleted_total', help: 'The total number of dapr services deleted.', labelNames: ['app_id'], registers }),
    updateStreams: new Gauge({ name: 'dapr_operator_update_streams', help: 'Sidecar update streams connected to this replica.', labelNames: ['kind'], registers }),
    updateEventsSent: new Counter({
      name: 'dapr_operator_update_events_sent_total',
      help: 'Resource update events written to sidecar streams.',
      labelNames: ['kind'],
      registers,
    }),
    updateStreamsDropped: new Counter({
      name: 'dapr_operator_update_streams_dropped_total',
      help: 'Update streams closed because the sidecar did not keep up.',
      labelNames: ['kind'],
      registers,
    }),
    invalidResources: new Gauge({
      name: 'dapr_operator_invalid_resources',
      help: 'Resources the API server stored that daprd cannot load as written.',
      labelNames: ['kind'],
      registers,
    }),
    resourceProblems: new Counter({
      name: 'dapr_operator_resource_problems_total',
      help: 'Problems found in resources (invalid fields, unresolvable secrets), by reason.',
      labelNames: ['kind', 'reason'],
      registers,
    }),
    secretFailures: new Counter({
      name: 'dapr_operator_secret_resolution_failures_total',
      help: 'secretKeyRef values that could not be resolved for a sidecar.',
      labelNames: ['kind', 'failure'],
      registers,
    }),
    leader: new Gauge({ name: 'dapr_operator_leader', help: '1 while this replica holds the operator.dapr.io lease.', registers }),
  };
}
