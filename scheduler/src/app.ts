// The scheduler assembled from its parts — what main.ts runs and what in-process tests build: health and metrics
// servers, the SVID (with TLS), etcd (run beside it, or external), leadership, the trigger engine and the gRPC
// server. Readiness targets are Dapr's (docs/scheduler-spec.md §1.5).
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { kubernetesClusterDomain } from '@tapr/lib/clusterDomain';
import { HealthServer, Readiness } from '@tapr/lib/health';
import { MetricsServer, createMetricsRegistry, type Registry } from '@tapr/lib/metrics';
import { deferred } from '@tapr/lib/httpServer';
import { bindGrpcServer, shutdownGrpcServer } from '@tapr/lib/grpcServer';
import { grpcServerCredentials } from '@tapr/lib/security/grpcTls';
import { sentrySvidProvider, type SvidProvider } from '@tapr/lib/security/controlPlaneSvid';
import { part, runParts, type Part } from '@tapr/lib/runner';
import type { Logger } from '@tapr/lib/logger';
import type { Svid, SvidSource } from '@tapr/lib/security/svid';
import { SchedulerApi, type HostsSource } from './api.js';
import { Engine } from './engine.js';
import { Leadership, type Epoch } from './leadership.js';
import { SchedulerMetrics } from './metrics.js';
import { schedulerService } from './proto.js';
import { JobStore } from './store.js';
import { StreamPool } from './streams.js';
import type { SchedulerOptions } from './options.js';

export interface SchedulerServiceDeps {
  logger: Logger;
  /** With TLS: where the server's SVID comes from. Default: sentry, as configured by the options. */
  svid?: SvidProvider;
  /** Tests without TLS: the caller identity authz checks. */
  callerId?: ConstructorParameters<typeof SchedulerApi>[0]['callerId'];
}

// Dapr's gRPC server settings (pkg/scheduler/server/server.go): no message size limit, pings every 3 s.
const grpcServerOptions: grpc.ServerOptions = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc.keepalive_time_ms': 3000,
  'grpc.keepalive_timeout_ms': 5000,
  // daprd pings idle streams every few seconds; grpc-js would answer too-frequent pings with GOAWAY.
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 1000,
};

export class SchedulerService {
  readonly readiness = new Readiness();
  readonly registry: Registry = createMetricsRegistry();
  readonly metrics = new SchedulerMetrics(this.registry);
  readonly health: HealthServer;
  readonly metricsServer: MetricsServer | undefined;
  readonly pool: StreamPool;
  #engine: Engine | undefined;
  #boundPort = deferred<number>();
  readonly #logger: Logger;
  readonly #hosts = new AgreedHosts();

  constructor(
    private readonly options: SchedulerOptions,
    private readonly deps: SchedulerServiceDeps,
  ) {
    this.#logger = deps.logger;
    this.health = new HealthServer({
      port: options.healthzPort,
      host: options.healthzListenAddress || undefined,
      readiness: this.readiness,
      logger: deps.logger.child('healthz'),
    });
    this.metricsServer = options.enableMetrics
      ? new MetricsServer({ port: options.metricsPort, host: options.listenAddress || undefined, registry: this.registry, logger: deps.logger.child('metrics') })
      : undefined;
    this.pool = new StreamPool({
      deliverable: (prefixes) => this.#engine?.deliverable(prefixes),
      connected: (count) => this.metrics.sidecarsConnected(count),
    });
  }

  /** The gRPC port actually bound. */
  whenListening(): Promise<number> {
    return this.#boundPort.promise;
  }

  /** Resolves at the first agreement on the partitioning. */
  whenReady(): Promise<void> {
    return this.#hosts.ready();
  }

  get engine(): Engine | undefined {
    return this.#engine;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { options } = this;
    const parts: Part[] = [part('healthz', this.health)];
    this.readiness.target('healthz-server').ready();
    if (this.metricsServer) {
      parts.push(part('metrics', this.metricsServer));
      this.readiness.target('metrics-exporter').ready();
    }

    let credentials = grpc.ServerCredentials.createInsecure();
    let svid: SvidSource | undefined;
    const securityReady = this.readiness.target('security-provider');
    if (options.tlsEnabled) {
      const provider = this.deps.svid ?? (await sentrySvidProvider('scheduler', options, this.#logger, signal));
      parts.push(...provider.parts);
      svid = provider.source;
      credentials = grpcServerCredentials(provider.source, { requireClientCert: true });
    } else {
      securityReady.ready();
    }

    const etcdReady = this.readiness.target(options.etcd.embed ? 'scheduler-etcd-embed' : 'scheduler-etcd-external');
    const serverReady = this.readiness.target('scheduler-server');
    // etcd's runner loads only when it runs etcd (not with --etcd-embed=false).
    const embedded = options.etcd.embed
      ? new (await import('./embeddedEtcd.js')).EmbeddedEtcd({
          ...options.etcd,
          id: options.id,
          mode: options.mode,
          namespace: options.namespace,
          tlsDir: options.tlsEnabled ? options.identityDirectory : undefined,
          // Peers must present the DNS names sentry gives dapr-scheduler (Dapr's AllowedHostnames).
          peerAllowedHostnames: options.tlsEnabled ? schedulerPeerNames(options) : undefined,
          logger: this.#logger.child('etcd'),
        })
      : undefined;
    const endpoints = embedded ? [embedded.clientEndpoint] : options.etcd.clientEndpoints;
    const client = new Etcd3({
      hosts: endpoints,
      ...(options.etcd.clientUsername ? { auth: { username: options.etcd.clientUsername, password: options.etcd.clientPassword } } : {}),
      grpcOptions: { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 },
    });
    const store = new JobStore(client);
    const engine = new Engine({ store, pool: this.pool, metrics: this.metrics, logger: this.#logger.child('engine'), maxInFlight: options.workers });
    this.#engine = engine;
    if (options.mode === 'kubernetes') {
      const controllerReady = this.readiness.target('scheduler-controller');
      parts.push(
        part('namespace-cleaner', {
          run: async (s: AbortSignal) => {
            const { runNamespaceCleaner } = await import('./namespaceCleaner.js');
            await runNamespaceCleaner({ kubeconfig: options.kubeconfig, env: options.env, store, readiness: controllerReady, logger: this.#logger.child('namespaces') }, s);
          },
        }),
      );
    }
    const api = new SchedulerApi({ store, pool: this.pool, hosts: this.#hosts, metrics: this.metrics, mtls: options.tlsEnabled, logger: this.#logger.child('api'), callerId: this.deps.callerId });

    parts.push(
      part('scheduler', {
        run: async (outer: AbortSignal) => {
          // Ends with the service, or earlier when etcd exits on its own: the scheduler cannot work without it.
          const stop = new AbortController();
          const s = stop.signal;
          const onOuterAbort = () => stop.abort(outer.reason);
          if (outer.aborted) onOuterAbort();
          else outer.addEventListener('abort', onOuterAbort, { once: true });
          // etcd stops last: leadership revokes its lease on the way out (the others take this replica's jobs at
          // once), and progress is flushed, both through etcd.
          const etcdStop = new AbortController();
          let etcdRun: Promise<void> | undefined;
          let server: grpc.Server | undefined;
          let leadershipRun: Promise<void> | undefined;
          try {
            if (svid) {
              const first = await svid.ready(s);
              await this.#writeIdentity(first);
              svid.subscribe((next) => void this.#writeIdentity(next).catch((err: Error) => this.#logger.error('could not write the identity files', { error: err.message })));
              securityReady.ready();
            }
            // etcd's peer TLS reads the identity files written above.
            etcdRun = embedded?.run(etcdStop.signal);
            if (embedded && etcdRun) await Promise.race([embedded.whenReady(s), etcdRun]);
            etcdReady.ready();
            server = new grpc.Server(grpcServerOptions);
            server.addService(schedulerService, api.implementation());
            const port = await bindGrpcServer(server, options.listenAddress, options.port, credentials);
            this.#boundPort.resolve(port);
            serverReady.ready();
            this.#logger.info('scheduler gRPC server listening', { port, mtls: options.tlsEnabled, etcd: endpoints });
            const leadership = new Leadership({ kv: store.kv, id: options.id, host: broadcastAddress(options, port), ttlMs: options.leadershipTtlMs, logger: this.#logger.child('leadership') });
            leadershipRun = leadership.run(s, {
              elected: (epoch) => this.#elected(engine, epoch),
              stepDown: (reason) => {
                this.#logger.info('stepping down from the partition', { reason });
                engine.stop();
                this.metrics.ownership(0, 0);
              },
            });
            const aborted = new Promise<void>((resolve) => (s.aborted ? resolve() : s.addEventListener('abort', () => resolve(), { once: true })));
            await Promise.race([aborted, etcdRun ?? aborted]);
          } finally {
            outer.removeEventListener('abort', onOuterAbort);
            this.readiness.drain();
            api.close();
            this.pool.closeAll();
            if (server) await shutdownGrpcServer(server, 5000);
            await engine.flush();
            stop.abort();
            await leadershipRun?.catch(() => {});
            engine.stop();
            client.close();
            etcdStop.abort();
            await etcdRun;
          }
        },
      }),
    );
    await runParts(parts, signal, this.#logger);
  }

  #elected(engine: Engine, epoch: Epoch): void {
    engine.start(epoch).then(
      () => {
        this.metrics.ownership(engine.owned, epoch.total);
        this.#hosts.agreed(epoch.hosts);
      },
      (err: Error) => this.#logger.error('could not load the job space for the partition', { error: err.message }),
    );
  }

  /** The SVID as files for etcd's peer TLS (Dapr's --identity-directory-write: cert.pem, key.pem, ca.pem). */
  async #writeIdentity(svid: Svid): Promise<void> {
    const dir = this.options.identityDirectory;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const [file, content] of [
      ['cert.pem', svid.certChainPem],
      ['key.pem', svid.keyPem],
      ['ca.pem', svid.trustAnchorsPem],
    ] as const) {
      const target = path.join(dir, file);
      await writeFile(`${target}.tmp`, content, { mode: 0o600 });
      await rename(`${target}.tmp`, target);
    }
  }
}

/** WatchHosts' view: the hosts of the latest agreement, and who wants to hear about the next. */
class AgreedHosts implements HostsSource {
  #hosts: string[] = [];
  readonly #first = deferred<void>();
  readonly #listeners = new Set<(hosts: string[]) => void>();

  ready(): Promise<void> {
    return this.#first.promise;
  }

  current(): string[] {
    return this.#hosts;
  }

  subscribe(listener: (hosts: string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  agreed(hosts: string[]): void {
    this.#hosts = hosts;
    this.#first.resolve();
    for (const listener of this.#listeners) listener(hosts);
  }
}

function schedulerPeerNames(options: SchedulerOptions): string[] {
  const domain = options.mode === 'kubernetes' ? kubernetesClusterDomain(options.trustDomain) : options.trustDomain;
  return [0, 1, 2].map((i) => `dapr-scheduler-server-${i}.dapr-scheduler-server.${options.namespace}.svc.${domain}`);
}

const loopback = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** The address sidecars dial for this replica (spec §6): the override, the loopback listen address, else the host IP. */
export function broadcastAddress(options: Pick<SchedulerOptions, 'overrideBroadcastHostPort' | 'listenAddress' | 'hostIp'>, port: number): string {
  if (options.overrideBroadcastHostPort) return options.overrideBroadcastHostPort;
  if (loopback.has(options.listenAddress)) return `${options.listenAddress}:${port}`;
  const host = options.hostIp ?? firstExternalIPv4() ?? '127.0.0.1';
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function firstExternalIPv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return undefined;
}
