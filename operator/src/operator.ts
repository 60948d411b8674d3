// The operator's parts and how they fit: informers over the dapr.io resources feed the gRPC API and its update
// streams (every replica); the app-Service reconciler runs on the elected leader only; the conversion webhook and
// the CRD caBundle patcher serve the Subscription versions. main.ts adds the process around it (options, logger,
// health, metrics, sentry); tests build it with their own SVID source and kubeconfig.
import os from 'node:os';
import { callerSpiffeId } from '@tapr/lib/security/grpcTls';
import { part, runParts, type Part } from '@tapr/lib/runner';
import type { Logger } from '@tapr/lib/logger';
import type { Readiness } from '@tapr/lib/health';
import type { SvidSource } from '@tapr/lib/security/svid';
import { ApiServer } from './api/apiServer.js';
import { OperatorService } from './api/operatorService.js';
import { UpdateDispatcher } from './api/updateDispatcher.js';
import { UpdateHub } from './api/updateHub.js';
import { deploymentKind, rolloutKind, statefulSetKind } from './controller/appService.js';
import { ServiceReconciler } from './controller/serviceReconciler.js';
import { KubeEventRecorder, LeaderElector, type KubeHttp } from '@tapr/lib/kube';
import { kubeSecretReader } from './kube/secretReader.js';
import type { OperatorMetrics } from './metrics.js';
import type { OperatorOptions } from './options.js';
import { ProblemReporter } from './resources/problems.js';
import type { SecretReader } from './resources/secrets.js';
import { DaprStore } from './resources/store.js';
import { ConversionWebhook } from './webhook/conversionWebhook.js';
import { CrdCaBundlePatcher } from './webhook/crdCaBundle.js';

export const leaseName = 'operator.dapr.io';

export type OperatorSettings = Pick<
  OperatorOptions,
  | 'namespace'
  | 'watchNamespace'
  | 'leaderElection'
  | 'serviceReconciler'
  | 'argoRolloutServiceReconciler'
  | 'apiPort'
  | 'apiListenAddress'
  | 'webhookPort'
  | 'webhookListenAddress'
  | 'conversionWebhook'
>;

export interface TrustAnchorsSource {
  current(): string;
  subscribe(listener: (pem: string) => void): () => void;
}

export interface OperatorDeps {
  http: KubeHttp;
  svid: SvidSource;
  logger: Logger;
  readiness: Readiness;
  metrics?: OperatorMetrics;
  /** The control plane's trust anchors (the trust-anchors file) for the CRD caBundle; defaults to the SVID's. */
  trustAnchors?: TrustAnchorsSource;
  /** This replica's name in the Lease and in Events (the pod name in a cluster). */
  identity?: string;
  leaderElection?: { leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  secrets?: SecretReader;
}

export class Operator {
  readonly store: DaprStore;
  readonly hub: UpdateHub;
  readonly dispatcher: UpdateDispatcher;
  readonly problems: ProblemReporter;
  readonly api: ApiServer;
  readonly elector: LeaderElector | undefined;
  readonly reconciler: ServiceReconciler | undefined;
  readonly webhook: ConversionWebhook | undefined;
  readonly #parts: Part[];

  constructor(settings: OperatorSettings, deps: OperatorDeps) {
    const { http, logger, readiness, metrics } = deps;
    const identity = deps.identity ?? os.hostname();
    const recorder = new KubeEventRecorder({ http, logger: logger.child('events'), component: 'dapr-operator', instance: identity });
    const secrets = deps.secrets ?? kubeSecretReader(http);

    this.store = new DaprStore({ http, watchNamespace: settings.watchNamespace, logger: logger.child('informer'), metrics });
    this.problems = new ProblemReporter({ logger: logger.child('resources'), recorder, metrics });
    this.hub = new UpdateHub({ metrics });
    this.dispatcher = new UpdateDispatcher({ hub: this.hub, secrets, problems: this.problems, logger: logger.child('updates') });
    this.store.components.on(this.problems.componentHandler());
    this.store.components.on(this.dispatcher.componentHandler());
    this.store.subscriptions.on(this.dispatcher.subscriptionHandler());
    this.store.httpEndpoints.on(this.dispatcher.httpEndpointHandler());

    const service = new OperatorService({ caches: this.store, secrets, hub: this.hub, problems: this.problems, logger: logger.child('api'), identify: callerSpiffeId });
    const security = readiness.target('operator-security');
    const apiReady = readiness.target('operator-api-server');
    const informersReady = readiness.target('operator-informers');
    void deps.svid.ready().then(() => security.ready(), () => undefined);
    this.api = new ApiServer({
      port: settings.apiPort,
      host: settings.apiListenAddress,
      service,
      hub: this.hub,
      svid: deps.svid,
      logger: logger.child('api'),
      onListening: () => apiReady.ready(),
    });

    this.#parts = [
      part('informers', this.store),
      part('api-server', {
        run: async (signal: AbortSignal) => {
          // Serve only complete caches: a sidecar listing components before the first list would get none.
          try {
            await this.store.whenSynced(signal);
          } catch {
            return;
          }
          informersReady.ready();
          logger.info('dapr.io informers synced', { components: this.store.components.size });
          await this.api.run(signal);
        },
      }),
    ];

    if (settings.serviceReconciler) {
      const kinds = [deploymentKind, statefulSetKind, ...(settings.argoRolloutServiceReconciler ? [rolloutKind] : [])];
      this.reconciler = new ServiceReconciler({ http, kinds, watchNamespace: settings.watchNamespace, logger: logger.child('services'), metrics, recorder });
      metrics?.leader.set(0);
      if (settings.leaderElection) {
        this.elector = new LeaderElector({
          http,
          namespace: settings.namespace,
          name: leaseName,
          identity: deps.identity ? `${deps.identity}_${Math.random().toString(16).slice(2, 10)}` : undefined,
          ...deps.leaderElection,
          logger: logger.child('leader'),
          onChange: (leading) => metrics?.leader.set(leading ? 1 : 0),
        });
        const elector = this.elector;
        const reconciler = this.reconciler;
        this.#parts.push(part('leader-election', { run: (signal: AbortSignal) => elector.run(signal, (leading) => reconciler.run(leading)) }));
      } else {
        metrics?.leader.set(1);
        this.#parts.push(part('service-reconciler', this.reconciler));
      }
    }

    const webhookReady = readiness.target('operator-webhook');
    if (settings.conversionWebhook) {
      this.webhook = new ConversionWebhook({ port: settings.webhookPort, host: settings.webhookListenAddress, svid: deps.svid, logger: logger.child('webhook') });
      const anchors = deps.trustAnchors ?? svidAnchors(deps.svid);
      const patcher = new CrdCaBundlePatcher({
        http,
        namespace: settings.namespace,
        trustAnchors: () => anchors.current(),
        trustAnchorsChanged: (listener) => anchors.subscribe(() => listener()),
        logger: logger.child('webhook'),
        onPatched: () => webhookReady.ready(),
      });
      this.#parts.push(part('conversion-webhook', this.webhook));
      this.#parts.push(
        part('crd-cabundle', {
          run: async (signal: AbortSignal) => {
            await deps.svid.ready(signal).catch(() => undefined);
            if (!signal.aborted) await patcher.run(signal);
          },
        }),
      );
    } else {
      webhookReady.ready();
    }
  }

  parts(): Part[] {
    return [...this.#parts];
  }

  run(signal: AbortSignal): Promise<void> {
    return runParts(this.#parts, signal);
  }
}

/** Trust anchors taken from the SVID (when no trust-anchors file is given). */
function svidAnchors(svid: SvidSource): TrustAnchorsSource {
  return {
    current: () => svid.current()?.trustAnchorsPem ?? '',
    subscribe: (listener) => {
      let last = svid.current()?.trustAnchorsPem;
      return svid.subscribe((next) => {
        if (next.trustAnchorsPem !== last) {
          last = next.trustAnchorsPem;
          listener(next.trustAnchorsPem);
        }
      });
    },
  };
}
