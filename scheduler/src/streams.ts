// The sidecars' WatchJobs streams on this replica, and which one gets a trigger (docs/scheduler-spec.md §5).
// An app job goes to a stream of its app, a reminder to a stream that accepts its actor type, taking turns among
// the candidates. Each trigger waits for its ack; a stream that closes hands its unacknowledged triggers back as
// undeliverable, so the engine can send them elsewhere or keep them until a matching sidecar connects.
import { actorTypePrefix, appPrefix } from './jobKey.js';
import { encodeTriggerBody, triggerMessage, type Any } from './proto.js';

export type DeliveryResult = 'SUCCESS' | 'FAILED' | 'UNDELIVERABLE';

export interface Trigger {
  namespace: string;
  /** Routing: the app id for an app job, the actor type for a reminder. */
  target: { kind: 'job'; appId: string } | { kind: 'actor'; actorType: string };
  name: string;
  data: Any | undefined;
  /** The job's metadata as serialized when it was scheduled. */
  metadata: Buffer;
  /** The trigger message less its id, encoded at the first send and reused by every later one. */
  body?: Buffer;
}

/** The part of a gRPC stream the pool needs. */
export interface StreamSink {
  /** An encoded WatchJobsResponse. */
  send(message: Buffer): void;
}

export interface StreamRegistration {
  namespace: string;
  appId: string;
  acceptJobs: boolean;
  actorTypes: string[];
}

export class SidecarStream {
  #nextId = 1;
  readonly #inFlight = new Map<number, (result: DeliveryResult) => void>();
  closed = false;

  constructor(
    readonly registration: StreamRegistration,
    private readonly sink: StreamSink,
  ) {}

  /** The key prefixes this stream can take, for jobs parked while no sidecar could. */
  get prefixes(): string[] {
    const { namespace, appId, acceptJobs, actorTypes } = this.registration;
    return [...(acceptJobs ? [appPrefix(namespace, appId)] : []), ...actorTypes.map((type) => actorTypePrefix(namespace, type))];
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  send(trigger: Trigger, done: (result: DeliveryResult) => void): void {
    const id = this.#nextId++;
    this.#inFlight.set(id, done);
    trigger.body ??= encodeTriggerBody(trigger.name, trigger.data, trigger.metadata);
    this.sink.send(triggerMessage(id, trigger.body));
  }

  /** An ack; false for an id this stream has not sent or already had answered (the stream is then closed). */
  acknowledge(id: number, result: 'SUCCESS' | 'FAILED'): boolean {
    const done = this.#inFlight.get(id);
    if (!done) return false;
    this.#inFlight.delete(id);
    done(result);
    return true;
  }

  /** Every trigger not acknowledged is undeliverable from here. */
  abandon(): void {
    this.closed = true;
    const pending = [...this.#inFlight.values()];
    this.#inFlight.clear();
    for (const done of pending) done('UNDELIVERABLE');
  }
}

interface Candidates {
  streams: SidecarStream[];
  cursor: number;
}

export interface StreamPoolEvents {
  /** A stream opened that can take jobs under these key prefixes. */
  deliverable(prefixes: string[]): void;
  connected(count: number): void;
}

export class StreamPool {
  readonly #byApp = new Map<string, Candidates>();
  readonly #byActorType = new Map<string, Candidates>();
  #count = 0;

  constructor(private readonly events: StreamPoolEvents) {}

  get size(): number {
    return this.#count;
  }

  add(registration: StreamRegistration, sink: StreamSink): SidecarStream {
    const stream = new SidecarStream(registration, sink);
    const { namespace, appId, acceptJobs, actorTypes } = registration;
    if (acceptJobs) candidates(this.#byApp, `${namespace}/${appId}`).streams.push(stream);
    for (const type of new Set(actorTypes)) candidates(this.#byActorType, `${namespace}/${type}`).streams.push(stream);
    this.#count++;
    this.events.connected(this.#count);
    this.events.deliverable(stream.prefixes);
    return stream;
  }

  remove(stream: SidecarStream): void {
    if (stream.closed) return;
    const { namespace, appId, acceptJobs, actorTypes } = stream.registration;
    if (acceptJobs) drop(this.#byApp, `${namespace}/${appId}`, stream);
    for (const type of new Set(actorTypes)) drop(this.#byActorType, `${namespace}/${type}`, stream);
    this.#count--;
    this.events.connected(this.#count);
    stream.abandon();
  }

  /** Sends the trigger to the next candidate stream; false when there is none (undeliverable now). */
  deliver(trigger: Trigger, done: (result: DeliveryResult) => void): boolean {
    const key = `${trigger.namespace}/${trigger.target.kind === 'job' ? trigger.target.appId : trigger.target.actorType}`;
    const pool = (trigger.target.kind === 'job' ? this.#byApp : this.#byActorType).get(key);
    if (!pool || pool.streams.length === 0) return false;
    pool.cursor = (pool.cursor + 1) % pool.streams.length;
    pool.streams[pool.cursor]!.send(trigger, done);
    return true;
  }

  closeAll(): void {
    for (const pool of [...this.#byApp.values(), ...this.#byActorType.values()]) {
      for (const stream of [...pool.streams]) this.remove(stream);
    }
  }
}

function candidates(map: Map<string, Candidates>, key: string): Candidates {
  let entry = map.get(key);
  if (!entry) map.set(key, (entry = { streams: [], cursor: -1 }));
  return entry;
}

function drop(map: Map<string, Candidates>, key: string, stream: SidecarStream): void {
  const entry = map.get(key);
  if (!entry) return;
  entry.streams = entry.streams.filter((s) => s !== stream);
  if (entry.streams.length === 0) map.delete(key);
}
