// Kubernetes Events about the trust bundle, recorded on Secret `dapr-trust-bundle` so `kubectl describe secret`
// and event-based alerting show what sentry did (rotation steps) and what needs a person (expiry, refusals).
// Kubernetes mode posts them with lib's recorder (the same report at most once an hour per replica, failures such
// as a missing RBAC rule logged once, never stopping sentry); self-hosted mode logs them.
import type { Logger } from '@tapr/lib/logger';
import { KubeEventRecorder, type EventType, type KubeHttp } from '@tapr/lib/kube';

export type { EventType };

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

export interface SecretEventRecorderOptions {
  http: KubeHttp;
  namespace: string;
  secretName: string;
  /** The pod name (POD_NAME/HOSTNAME), shown as the reporting instance. */
  instance: string;
  logger: Logger;
  repeatMs?: number;
  now?: () => Date;
}

/** Kubernetes mode: Events on the trust-bundle Secret. */
export class SecretEventRecorder implements EventRecorder {
  readonly #recorder: KubeEventRecorder;
  readonly #secret: { apiVersion: string; kind: string; metadata: { name: string; namespace: string } };

  constructor(options: SecretEventRecorderOptions) {
    this.#secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: options.secretName, namespace: options.namespace } };
    this.#recorder = new KubeEventRecorder({
      http: options.http,
      logger: options.logger,
      component: 'dapr-sentry',
      instance: options.instance,
      failureHint: 'sentry needs RBAC "create" on events; logging only',
      repeatMs: options.repeatMs,
      now: options.now,
    });
  }

  record(type: EventType, reason: string, message: string): void {
    this.#recorder.record(this.#secret, type, reason, message);
  }
}
