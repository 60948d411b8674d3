// The placement service assembled from its parts — what main.ts runs and what in-process tests build:
// health and metrics servers, the SVID (with TLS), leader election, the core loop and the gRPC server.
import * as grpc from '@grpc/grpc-js';
// Modules come from lib one by one (not its index), and the Kubernetes client and the sentry client only load
// when HA or TLS needs them: a single placement stays small (≤ 60 MB RSS idle).
import { HealthServer, Readiness } from '@tapr/lib/health';
import { MetricsServer, createMetricsRegistry, type Registry } from '@tapr/lib/metrics';
import { deferred } from '@tapr/lib/httpServer';
import { grpcServerCredentials } from '@tapr/lib/security/grpcTls';
import { part, runParts, type Part } from '@tapr/lib/runner';
import type { Logger } from '@tapr/lib/logger';
import type { SvidSource } from '@tapr/lib/security/svid';
import { PlacementCore } from './core.js';
import { PlacementMetrics } from './metrics.js';
import { PlacementServer } from './server.js';
import { WireOrderCodec } from './wire.js';
import { statePlacementTablesJson } from './state.js';
import { notLeaderError } from './errors.js';
import { sentrySvidProvider, type SvidProvider } from '@tapr/lib/security/controlPlaneSvid';
import { SingleNodeLeadership, type Leadership } from './leadership/leadership.js';
import type { PlacementEvent, Timers } from './events.js';
import type { PlacementOptions } from './options.js';

export interface PlacementServiceDeps {
  logger: Logger;
  /** With TLS: where the server's SVID comes from. Default: sentry, as configured by the options. */
  svid?: SvidProvider;
  /** Default: one instance, or a Kubernetes Lease when --initial-cluster names several peers. */
  leadership?: Leadership;
}

export class PlacementService {
  readonly readiness = new Readiness();
  readonly registry: Registry = createMetricsRegistry();
  readonly metrics = new PlacementMetrics(this.registry);
  readonly core: PlacementCore;
  readonly health: HealthServer;
  readonly metricsServer: MetricsServer | undefined;
  #server: PlacementServer | undefined;
  readonly #serverCreated = deferred<PlacementServer>();
  readonly #logger: Logger;

  constructor(
    private readonly options: PlacementOptions,
    private readonly deps: PlacementServiceDeps,
  ) {
    this.#logger = deps.logger;
    this.core = new PlacementCore({
      disseminateTimeoutMs: options.disseminateTimeoutMs,
      batch: { quietMs: options.batchQuietMs, maxDelayMs: options.batchMaxDelayMs },
      settle: { quietMs: options.settleQuietMs, maxMs: options.settleTimeoutMs },
      codec: new WireOrderCodec(options.replicationFactor, options.tableHostFields),
      timers: realTimers((event) => this.core.enqueue(event)),
      observer: this.metrics,
      logger: deps.logger.child('disseminator'),
    });
    this.health = new HealthServer({
      port: options.healthzPort,
      host: options.healthzListenAddress || undefined,
      readiness: this.readiness,
      logger: deps.logger.child('healthz'),
      routes: options.metadataEnabled
        ? (app) =>
            app.get('/placement/state', (_req, res) => {
              if (!this.core.isLeader) res.status(503).json({ error: notLeaderError(options.id).message });
              else res.type('application/json').send(statePlacementTablesJson(this.core.state()));
            })
        : undefined,
    });
    this.metricsServer = options.enableMetrics
      ? new MetricsServer({ port: options.metricsPort, host: options.listenAddress || undefined, registry: this.registry, logger: deps.logger.child('metrics') })
      : undefined;
  }

  /** The gRPC port actually bound (after the server listens). */
  get port(): number {
    return this.#server?.port ?? 0;
  }

  async whenListening(): Promise<void> {
    return (await this.#serverCreated.promise).whenListening();
  }

  async run(signal: AbortSignal): Promise<void> {
    const { options } = this;
    const parts: Part[] = [part('healthz', this.health)];
    if (this.metricsServer) parts.push(part('metrics', this.metricsServer));

    let credentials = grpc.ServerCredentials.createInsecure();
    let svidSource: SvidSource | undefined;
    if (options.tlsEnabled) {
      const provider = this.deps.svid ?? (await sentrySvidProvider('placement', options, this.#logger, signal));
      parts.push(...provider.parts);
      svidSource = provider.source;
      credentials = grpcServerCredentials(provider.source, { requireClientCert: true });
    }
    const svidReady = options.tlsEnabled ? this.readiness.target('svid') : undefined;
    const grpcReady = this.readiness.target('placement-grpc-server');
    const leadershipReady = this.readiness.target('leadership');

    this.#server = new PlacementServer({
      nodeId: options.id,
      port: options.port,
      listenAddress: options.listenAddress,
      credentials,
      mtls: options.tlsEnabled,
      keepaliveTimeMs: options.keepaliveTimeMs,
      keepaliveTimeoutMs: options.keepaliveTimeoutMs,
      maxActorTypesPerHost: options.maxActorTypesPerHost,
      firstReportTimeoutMs: options.disseminateTimeoutMs,
      sendStallTimeoutMs: options.sendStallTimeoutMs,
      maxBufferedBytes: options.maxBufferedBytes,
      writeBudgetBytes: options.writeBudgetBytes,
      core: this.core,
      readiness: grpcReady,
      logger: this.#logger.child('server'),
    });
    const server = this.#server;
    this.#serverCreated.resolve(server);
    parts.push(
      part('grpc', {
        run: async (s: AbortSignal) => {
          // Without its SVID the server could only fail handshakes: wait for it before listening.
          if (svidSource) {
            await svidSource.ready(s);
            svidReady?.ready();
          }
          await server.run(s);
        },
      }),
    );

    const leadership = this.deps.leadership ?? (await this.#leadership());
    parts.push(
      part('leadership', {
        run: (s: AbortSignal) => {
          leadershipReady.ready();
          return leadership.run(s, {
            elected: (expected) => {
              this.metrics.leader(true);
              this.core.enqueue({ kind: 'leadershipGained', expected });
            },
            record: () => this.core.actorHostCounts(),
          });
        },
      }),
    );
    try {
      await runParts(parts, signal, this.#logger);
    } finally {
      this.metrics.leader(false);
    }
  }

  async #leadership(): Promise<Leadership> {
    const { options } = this;
    if (options.election === 'single') return new SingleNodeLeadership();
    const [{ loadClusterAccess }, { KubeHttp }, { LeaseLeadership }] = await Promise.all([
      import('@tapr/lib/kube/clusterAccess'),
      import('@tapr/lib/kube/kubeHttp'),
      import('./leadership/leaseLeadership.js'),
    ]);
    const access = loadClusterAccess({ kubeconfigFlag: options.kubeconfig, env: options.env });
    const http = new KubeHttp(access, { userAgent: 'tapr-placement' });
    const leadership = new LeaseLeadership({
      http,
      namespace: options.namespace,
      identity: options.id,
      leaseDurationMs: options.leaseDurationMs,
      renewDeadlineMs: options.leaseRenewDeadlineMs,
      retryPeriodMs: options.leaseRetryPeriodMs,
      logger: this.#logger.child('leadership'),
    });
    this.#logger.info('electing the leader with a Kubernetes Lease', { lease: leadership.lease, identity: options.id, server: http.server, kubeconfigFrom: access.source });
    return {
      run: async (signal, events) => {
        try {
          await leadership.run(signal, events);
        } finally {
          http.close(); // its keep-alive connections would outlive the service
        }
      },
    };
  }
}

function realTimers(enqueue: (event: PlacementEvent) => void): Timers {
  return {
    now: () => performance.now(),
    after: (ms, event) => {
      const timer = setTimeout(() => enqueue(event), ms);
      return () => clearTimeout(timer);
    },
  };
}
