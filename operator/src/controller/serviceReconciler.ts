// Keeps an `<app-id>-dapr` Service for every Dapr-enabled Deployment and StatefulSet (and Argo Rollout when asked),
// and removes it when the workload stops being Dapr-enabled or changes its app id; deleting the workload removes it
// through the owner reference. Runs on the leader only.
//
// Memory stays bounded however many workloads the cluster has: the workload informers look at every object as it
// streams past but cache only the Dapr-enabled ones, slimmed to the few fields the Service is built from; the
// Service informer asks the API server for `dapr.io/enabled=true` Services only. Reconciles are serialised per
// workload by the work queue; Services are read from the API (not the cache) before each write.
import { setMaxListeners } from 'node:events';
import type { Logger } from '@tapr/lib/logger';
import { Informer, isConflict, isNotFound, resourcePath, resourceSource, type EventRecorder, type InformerHandler, type KubeHttp, type ResourceType } from '@tapr/lib/kube';
import type { OperatorMetrics } from '../metrics.js';
import {
  annotations,
  appIdOf,
  buildAppService,
  InvalidAppIdError,
  isDaprEnabled,
  slimWorkload,
  type AppService,
  type OwnerReference,
  type Workload,
  type WorkloadKind,
} from './appService.js';
import { WorkQueue } from './workQueue.js';

const serviceType: ResourceType = { group: '', version: 'v1', plural: 'services', kind: 'Service' };

/** The Service fields the reconciler needs to find what it owns. */
interface OwnedService {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; ownerReferences?: OwnerReference[]; labels?: Record<string, string> };
}

interface ExistingService extends OwnedService {
  metadata?: OwnedService['metadata'] & { annotations?: Record<string, string> };
  spec?: { selector?: Record<string, string>; clusterIP?: string; ports?: Array<Record<string, unknown>> } & Record<string, unknown>;
}

export interface ServiceReconcilerOptions {
  http: KubeHttp;
  kinds: WorkloadKind[];
  /** Only this namespace ("" = all). */
  watchNamespace: string;
  logger: Logger;
  metrics?: OperatorMetrics;
  recorder?: EventRecorder;
  concurrency?: number;
}

export class ServiceReconciler {
  readonly #workloads = new Map<string, { kind: WorkloadKind; informer: Informer<Workload> }>();
  readonly #services: Informer<OwnedService>;
  readonly #queue: WorkQueue;

  constructor(private readonly options: ServiceReconcilerOptions) {
    const namespace = options.watchNamespace || undefined;
    for (const kind of options.kinds) {
      const type: ResourceType = { group: kind.group, version: kind.version, plural: kind.plural, kind: kind.kind };
      const informer = new Informer<Workload>({
        name: `${kind.plural}.${kind.group}`,
        source: resourceSource<Workload>(options.http, type, { namespace }),
        transform: slimWorkload,
        logger: options.logger,
      });
      informer.on(this.#enqueueOn(kind));
      options.metrics?.trackInformer(informer);
      this.#workloads.set(kind.kind, { kind, informer });
    }
    this.#services = new Informer<OwnedService>({
      name: 'services.dapr-enabled',
      source: resourceSource<OwnedService>(options.http, serviceType, { namespace, labelSelector: `${annotations.enabled}=true` }),
      transform: (service) => (ownerOf(service, options.kinds) ? slimService(service) : undefined),
      logger: options.logger,
    });
    this.#services.on(this.#enqueueOwner());
    options.metrics?.trackInformer(this.#services);
    this.#queue = new WorkQueue({
      name: 'app-services',
      process: (key) => this.#reconcile(key),
      concurrency: options.concurrency ?? 4,
      logger: options.logger,
    });
  }

  get informers(): Informer<Workload | OwnedService>[] {
    return [...[...this.#workloads.values()].map((w) => w.informer), this.#services] as Informer<Workload | OwnedService>[];
  }

  async run(signal: AbortSignal): Promise<void> {
    setMaxListeners(100, signal);
    const informers = this.informers.map((informer) => informer.run(signal));
    try {
      await Promise.all(this.informers.map((informer) => informer.whenSynced(signal)));
    } catch {
      await Promise.all(informers);
      return;
    }
    this.options.logger.info('service reconciler started', { workloads: this.options.kinds.map((k) => k.kind).join(',') });
    // Keys queued while syncing wait until every cache is complete, so no reconcile acts on half a picture.
    await Promise.all([...informers, this.#queue.run(signal)]);
  }

  #enqueueOn(kind: WorkloadKind): InformerHandler<Workload> {
    const enqueue = (workload: Workload) => this.#queue.add(keyOf(kind.kind, workload.metadata?.namespace, workload.metadata?.name));
    return { added: enqueue, updated: (_previous, workload) => enqueue(workload), removed: enqueue };
  }

  #enqueueOwner(): InformerHandler<OwnedService> {
    const enqueue = (service: OwnedService) => {
      const owner = ownerOf(service, this.options.kinds);
      if (owner) this.#queue.add(keyOf(owner.kind, service.metadata?.namespace, owner.name));
    };
    return { added: enqueue, updated: (_previous, service) => enqueue(service), removed: enqueue };
  }

  async #reconcile(key: string): Promise<void> {
    const [kindName, namespace, name] = key.split('/') as [string, string, string];
    const entry = this.#workloads.get(kindName);
    if (!entry) return;
    const workload = entry.informer.get(namespace, name) ?? (await this.#readWorkload(entry.kind, namespace, name));
    if (workload === null) return; // deleted: garbage collection removes its Service
    if (workload.metadata?.deletionTimestamp) return;

    let desired: AppService | undefined;
    if (isDaprEnabled(workload)) {
      try {
        desired = buildAppService(entry.kind, workload);
      } catch (error) {
        if (!(error instanceof InvalidAppIdError)) throw error;
        this.options.logger.error('cannot create the app Service', { workload: key, error });
        this.options.recorder?.warning({ apiVersion: `${entry.kind.group}/${entry.kind.version}`, kind: entry.kind.kind, metadata: workload.metadata }, 'InvalidAppId', error.message);
      }
    }

    const uid = workload.metadata?.uid;
    for (const service of this.#services.list(namespace)) {
      const owner = ownerOf(service, this.options.kinds);
      if (owner?.uid !== uid || service.metadata?.name === desired?.metadata.name) continue;
      await this.#delete(service, appIdOf(workload) || service.metadata?.name || '');
    }
    if (desired) await this.#ensure(desired, appIdOf(workload));
  }

  /** The workload from the API server (for keys not in the cache); null when it does not exist. */
  async #readWorkload(kind: WorkloadKind, namespace: string, name: string): Promise<Workload | null> {
    const type: ResourceType = { group: kind.group, version: kind.version, plural: kind.plural, kind: kind.kind };
    try {
      return await this.options.http.request<Workload>('GET', resourcePath(type, namespace, name));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async #ensure(desired: AppService, appId: string): Promise<void> {
    const { http, logger, metrics } = this.options;
    const path = resourcePath(serviceType, desired.metadata.namespace, desired.metadata.name);
    let existing: ExistingService;
    try {
      existing = await http.request<ExistingService>('GET', path);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await http.request('POST', resourcePath(serviceType, desired.metadata.namespace), { body: desired });
      metrics?.serviceCreated.inc({ app_id: appId });
      logger.info('created app Service', { service: `${desired.metadata.namespace}/${desired.metadata.name}` });
      return;
    }
    const controller = existing.metadata?.ownerReferences?.find((ref) => ref.controller);
    const owner = desired.metadata.ownerReferences[0]!;
    if (controller && controller.uid !== owner.uid && (await this.#ownerExists(controller, desired.metadata.namespace))) {
      const message = `Service ${desired.metadata.name} belongs to ${controller.kind} ${controller.name}, which uses the same app id`;
      logger.error('app id conflict: leaving the Service to its owner', { workload: `${desired.metadata.namespace}/${owner.name}`, message });
      this.options.recorder?.warning({ apiVersion: owner.apiVersion, kind: owner.kind, metadata: { name: owner.name, namespace: desired.metadata.namespace, uid: owner.uid } }, 'AppIdConflict', message);
      return;
    }
    if (matches(existing, desired)) return;
    const updated = {
      ...existing,
      metadata: { ...existing.metadata, labels: desired.metadata.labels, annotations: desired.metadata.annotations, ownerReferences: desired.metadata.ownerReferences },
      spec: { ...existing.spec, selector: desired.spec.selector, ports: desired.spec.ports, clusterIP: desired.spec.clusterIP },
    };
    await http.request('PUT', path, { body: updated });
    metrics?.serviceUpdated.inc({ app_id: appId });
    logger.info('updated app Service', { service: `${desired.metadata.namespace}/${desired.metadata.name}` });
  }

  async #ownerExists(owner: OwnerReference, namespace: string): Promise<boolean> {
    const entry = this.#workloads.get(owner.kind);
    if (!entry) return true;
    const workload = entry.informer.get(namespace, owner.name) ?? (await this.#readWorkload(entry.kind, namespace, owner.name));
    return workload !== null && workload.metadata?.uid === owner.uid;
  }

  async #delete(service: OwnedService, appId: string): Promise<void> {
    const namespace = service.metadata?.namespace ?? '';
    const name = service.metadata?.name ?? '';
    try {
      // The uid precondition makes sure we delete the Service we looked at, not a newer one of the same name.
      await this.options.http.request('DELETE', resourcePath(serviceType, namespace, name), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: service.metadata?.uid } },
      });
    } catch (error) {
      if (isNotFound(error) || isConflict(error)) return;
      throw error;
    }
    this.options.metrics?.serviceDeleted.inc({ app_id: appId });
    this.options.logger.info('deleted app Service', { service: `${namespace}/${name}` });
  }
}

function keyOf(kind: string, namespace = '', name = ''): string {
  return `${kind}/${namespace}/${name}`;
}

function ownerOf(service: OwnedService, kinds: WorkloadKind[]): OwnerReference | undefined {
  const controller = service.metadata?.ownerReferences?.find((ref) => ref.controller);
  if (!controller) return undefined;
  return kinds.some((kind) => `${kind.group}/${kind.version}` === controller.apiVersion && kind.kind === controller.kind) ? controller : undefined;
}

function slimService(service: OwnedService): OwnedService {
  const { name, namespace, uid, resourceVersion, ownerReferences } = service.metadata ?? {};
  return { metadata: { name, namespace, uid, resourceVersion, ownerReferences } };
}

/** Whether the Service already has everything the desired one sets (server defaults and extra fields allowed). */
function matches(existing: ExistingService, desired: AppService): boolean {
  const meta = existing.metadata ?? {};
  const sameMap = (a: Record<string, string> | undefined, b: Record<string, string>) =>
    Object.keys(a ?? {}).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a?.[k] === v);
  const owners = meta.ownerReferences ?? [];
  const owner = desired.metadata.ownerReferences[0]!;
  const ports = existing.spec?.ports ?? [];
  return (
    sameMap(meta.labels, desired.metadata.labels) &&
    sameMap(meta.annotations, desired.metadata.annotations) &&
    owners.length === 1 &&
    owners[0]!.uid === owner.uid &&
    owners[0]!.controller === true &&
    sameMap(existing.spec?.selector, desired.spec.selector) &&
    existing.spec?.clusterIP === 'None' &&
    ports.length === desired.spec.ports.length &&
    desired.spec.ports.every(
      (port, i) => ports[i]?.['name'] === port.name && ports[i]?.['port'] === port.port && ports[i]?.['targetPort'] === port.targetPort && ports[i]?.['protocol'] === port.protocol,
    )
  );
}
