// Kubernetes Events about the trust bundle, recorded on Secret `dapr-trust-bundle` so `kubectl describe secret`
// and event-based alerting show what sentry did (rotation steps) and what needs a person (expiry, refusals).
// The same reason and message is recorded at most once per `repeatMs`; failures (e.g. RBAC without `events
// create`) are logged once and never stop sentry.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@tapr/lib';
import { apiMessage } from './ca/kubeStore.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(type: EventType, reason: string, message: string): void;
}

/** Self-hosted mode: the log is the only channel. */
export class LogEventRecorder implements EventRecorder {
  constructor(private readonly logger: Logger) {}
  record(type: EventType, reason: string, message: string): void {
    (type === 'Warning' ? this.logger.warn : this.logger.info)(message, { reason });
  }
}

export interface KubeEventRecorderOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  secretName: string;
  /** The pod name (POD_NAME/HOSTNAME), shown as the reporting instance. */
  instance: string;
  logger: Logger;
  repeatMs?: number;
  now?: () => Date;
}

export class KubeEventRecorder implements EventRecorder {
  readonly #api: CoreV1Api;
  readonly #lastSent = new Map<string, number>();
  #warnedAboutFailure = false;

  constructor(private readonly options: KubeEventRecorderOptions) {
    this.#api = options.kubeConfig.makeApiClient(CoreV1Api);
  }

  record(type: EventType, reason: string, message: string): void {
    const now = (this.options.now ?? (() => new Date()))();
    const key = `${type}/${reason}/${message}`;
    const last = this.#lastSent.get(key);
    if (last !== undefined && now.getTime() - last < (this.options.repeatMs ?? 3_600_000)) return;
    this.#lastSent.set(key, now.getTime());
    const { namespace, secretName, instance } = this.options;
    this.#api
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${secretName}.`, namespace },
          involvedObject: { apiVersion: 'v1', kind: 'Secret', name: secretName, namespace },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: 'dapr-sentry' },
          reportingComponent: 'dapr-sentry',
          reportingInstance: instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch((error: unknown) => {
        if (this.#warnedAboutFailure) return;
        this.#warnedAboutFailure = true;
        this.options.logger.warn('cannot record Kubernetes events (sentry needs RBAC "create" on events); logging only', {
          error: apiMessage(error),
        });
      });
  }
}
