// Kubernetes Events on the objects the operator has something to say about (`kubectl describe component x`).
// Event names are derived from the object's uid and resourceVersion and the reason, so replicas reporting the same
// problem, or one replica reporting it again, create one Event: the second create meets 409 AlreadyExists.
import { createHash } from 'node:crypto';
import type { Logger } from '@tapr/lib/logger';
import { isConflict, type KubeHttp } from './kubeHttp.js';

export interface InvolvedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface EventRecorder {
  warning(object: InvolvedObject, reason: string, message: string): void;
}

export interface KubeEventRecorderOptions {
  http: KubeHttp;
  logger: Logger;
  /** `source.component` / `reportingController` of the Events. */
  component: string;
  /** This replica (pod name). */
  instance: string;
}

/** Records asynchronously; failures are logged, never thrown (reporting must not break serving). */
export class KubeEventRecorder implements EventRecorder {
  // Names created recently, so a problem seen on every ListComponents call is not re-posted each time.
  readonly #recent = new Set<string>();

  constructor(private readonly options: KubeEventRecorderOptions) {}

  warning(object: InvolvedObject, reason: string, message: string): void {
    void this.#create(object, 'Warning', reason, message);
  }

  async #create(object: InvolvedObject, type: string, reason: string, message: string): Promise<void> {
    const meta = object.metadata ?? {};
    const namespace = meta.namespace || 'default';
    const digest = createHash('sha256').update(`${meta.uid}/${meta.resourceVersion}/${reason}/${message}`).digest('hex').slice(0, 16);
    const name = `${meta.name ?? 'object'}.${digest}`;
    if (this.#recent.has(name)) return;
    this.#remember(name);
    const now = new Date().toISOString();
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: this.options.component },
      reportingComponent: this.options.component,
      reportingInstance: this.options.instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.options.http.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, { body });
    } catch (error) {
      if (isConflict(error)) return;
      this.#recent.delete(name);
      this.options.logger.warn('cannot record a Kubernetes Event', { object: `${namespace}/${meta.name}`, reason, error });
    }
  }

  #remember(name: string): void {
    this.#recent.add(name);
    if (this.#recent.size > 10_000) {
      const oldest = this.#recent.values().next().value;
      if (oldest !== undefined) this.#recent.delete(oldest);
    }
  }
}
