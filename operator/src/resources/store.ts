// The operator's view of the dapr.io resources: one informer per kind, all namespaces (or `--watch-namespace`),
// feeding the gRPC API (reads) and the update streams (events). Every replica runs it.
import { setMaxListeners } from 'node:events';
import type { Logger } from '@tapr/lib/logger';
import { Informer, resourceSource, type KubeHttp } from '@tapr/lib/kube';
import type { OperatorMetrics } from '../metrics.js';
import {
  componentKind,
  configurationKind,
  httpEndpointKind,
  resiliencyKind,
  subscriptionKind,
  type Component,
  type Configuration,
  type DaprKind,
  type DaprResource,
  type HttpEndpoint,
  type Resiliency,
  type Subscription,
} from './kinds.js';

/** Read access to one kind's cache (an Informer, or a fake in tests). */
export interface ResourceCache<T> {
  get(namespace: string, name: string): T | undefined;
  list(namespace?: string): T[];
}

export interface DaprCaches {
  components: ResourceCache<Component>;
  configurations: ResourceCache<Configuration>;
  subscriptions: ResourceCache<Subscription>;
  resiliencies: ResourceCache<Resiliency>;
  httpEndpoints: ResourceCache<HttpEndpoint>;
}

export interface DaprStoreOptions {
  http: KubeHttp;
  /** Only this namespace ("" = all). */
  watchNamespace: string;
  logger: Logger;
  metrics?: OperatorMetrics;
}

export class DaprStore implements DaprCaches {
  readonly components: Informer<Component>;
  readonly configurations: Informer<Configuration>;
  readonly subscriptions: Informer<Subscription>;
  readonly resiliencies: Informer<Resiliency>;
  readonly httpEndpoints: Informer<HttpEndpoint>;

  constructor(private readonly options: DaprStoreOptions) {
    this.components = this.#informer(componentKind);
    this.configurations = this.#informer(configurationKind);
    this.subscriptions = this.#informer(subscriptionKind);
    this.resiliencies = this.#informer(resiliencyKind);
    this.httpEndpoints = this.#informer(httpEndpointKind);
  }

  get all(): Informer<DaprResource>[] {
    return [this.components, this.configurations, this.subscriptions, this.resiliencies, this.httpEndpoints] as Informer<DaprResource>[];
  }

  get synced(): boolean {
    return this.all.every((informer) => informer.synced);
  }

  async whenSynced(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.all.map((informer) => informer.whenSynced(signal)));
  }

  async run(signal: AbortSignal): Promise<void> {
    // Each informer, its watch and its waits listen on the one signal: more than Node's default warning level of 10.
    setMaxListeners(100, signal);
    await Promise.all(this.all.map((informer) => informer.run(signal)));
  }

  #informer<T extends DaprResource>(kind: DaprKind<T>): Informer<T> {
    const informer = new Informer<T>({
      name: `${kind.type.plural}.${kind.type.group}`,
      source: resourceSource<T>(this.options.http, kind.type, { namespace: this.options.watchNamespace || undefined }),
      transform: (raw) => kind.slim(raw),
      logger: this.options.logger,
    });
    this.options.metrics?.trackInformer(informer);
    return informer;
  }
}
