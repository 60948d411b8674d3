// Kubernetes Events on the objects a service has something to say about (`kubectl describe component x`).
// Event names are derived from the object (uid and resourceVersion when known), the type, the reason and the
// message, so replicas reporting the same thing, or one replica reporting it again, create one Event: the second
// create meets 409 AlreadyExists. A replica posts the same report at most once per `repeatMs` (an hour, the API
// server's default Event TTL, after which the same report makes a new Event). Recording is asynchronous and never
// throws: reporting must not break serving.
import { createHash } from 'node:crypto';
import type { Logger } from '../logger.js';
import { isConflict, type KubeHttp } from './kubeHttp.js';

export interface InvolvedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(object: InvolvedObject, type: EventType, reason: string, message: string): void;
  warning(object: InvolvedObject, reason: string, message: string): void;
}

export interface KubeEventRecorderOptions {
  http: KubeHttp;
  logger: Logger;
  /** `source.component` / `reportingController` of the Events, e.g. `dapr-operator`. */
  component: string;
  /** This replica (pod name). */
  instance: string;
  /** Logged with the first failure, e.g. which RBAC rule is missing. */
  failureHint?: string;
  /** How long this replica waits before posting the same report again (default one hour). */
  repeatMs?: number;
  /** For tests: the clock. */
  now?: () => Date;
}

// Names posted recently, so a problem seen on every request is not re-posted each time (bounded).
const recentLimit = 10_000;
const defaultRepeatMs = 3_600_000;

export class KubeEventRecorder implements EventRecorder {
  /** Event name → when this replica posted it. */
  readonly #recent = new Map<string, number>();
  #failing = false;

  constructor(private readonly options: KubeEventRecorderOptions) {}

  warning(object: InvolvedObject, reason: string, message: string): void {
    this.record(object, 'Warning', reason, message);
  }

  record(object: InvolvedObject, type: EventType, reason: string, message: string): void {
    void this.#create(object, type, reason, message);
  }

  /** The Event name for a report: stable across replicas and repeats. */
  static eventName(object: InvolvedObject, type: EventType, reason: string, message: string): string {
    const meta = object.metadata ?? {};
    const digest = createHash('sha256').update(`${meta.uid}/${meta.resourceVersion}/${type}/${reason}/${message}`).digest('hex').slice(0, 16);
    return `${meta.name ?? 'object'}.${digest}`;
  }

  async #create(object: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const meta = object.metadata ?? {};
    const namespace = meta.namespace || 'default';
    const name = KubeEventRecorder.eventName(object, type, reason, message);
    const at = (this.options.now ?? (() => new Date()))();
    const posted = this.#recent.get(name);
    if (posted !== undefined && at.getTime() - posted < (this.options.repeatMs ?? defaultRepeatMs)) return;
    this.#remember(name, at.getTime());
    const now = at.toISOString();
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
      this.#failing = false;
    } catch (error) {
      if (isConflict(error)) return;
      this.#recent.delete(name);
      // Once per run of failures: a missing RBAC rule would otherwise log on every report.
      const { logger, failureHint } = this.options;
      const fields = { object: `${namespace}/${meta.name}`, reason, error, ...(failureHint ? { hint: failureHint } : {}) };
      if (this.#failing) logger.debug('cannot record a Kubernetes Event', fields);
      else logger.warn('cannot record a Kubernetes Event', fields);
      this.#failing = true;
    }
  }

  #remember(name: string, at: number): void {
    this.#recent.delete(name);
    this.#recent.set(name, at);
    if (this.#recent.size > recentLimit) {
      const oldest = this.#recent.keys().next().value;
      if (oldest !== undefined) this.#recent.delete(oldest);
    }
  }
}
