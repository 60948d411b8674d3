// From informer events to sidecar update streams (spec §4.1). Per namespace, events are handled strictly in order
// (secret resolution is asynchronous, so they pass through a per-namespace queue). Each distinct payload is resolved,
// encoded and wrapped in its protobuf message once, then written to every stream that should see it — the cost of
// an update grows with the number of streams only by a write each.
import type { Logger } from '@tapr/lib/logger';
import * as protos from '@tapr/lib/protos';
import type { InformerHandler } from '@tapr/lib/kube';
import {
  componentKind,
  encode,
  httpEndpointKind,
  inScope,
  subscriptionKind,
  type Component,
  type HttpEndpoint,
  type Subscription,
} from '../resources/kinds.js';
import type { ProblemReporter } from '../resources/problems.js';
import { resolveComponentSecrets, resolveHttpEndpointSecrets, SecretResolutionError, type SecretReader } from '../resources/secrets.js';
import { SerialQueues } from '../util/serialQueues.js';
import type * as Messages from './messages.js';
import type { UpdateHub } from './updateHub.js';

const EventType = protos.operator.ResourceEventType;
type EventType = (typeof EventType)[keyof typeof EventType];

export type ChangeKind = 'added' | 'updated' | 'deleted';

export interface Change<T> {
  kind: ChangeKind;
  object: T;
  /** The version before an update. */
  previous?: T;
}

/**
 * What one app should hear about a component change, given its scopes (Dapr's rule): a component that leaves the
 * app's scope is announced as DELETED (with the old object), one that enters it on update as CREATED.
 */
export function componentEventFor(appId: string, change: Change<Component>): { type: EventType; object: Component } | undefined {
  const inNew = inScope(change.object, appId);
  const inOld = change.previous !== undefined && inScope(change.previous, appId);
  if (!inNew) return inOld ? { type: EventType.DELETED, object: change.previous! } : undefined;
  const type = { added: EventType.CREATED, updated: inOld ? EventType.UPDATED : EventType.CREATED, deleted: EventType.DELETED }[change.kind];
  return { type, object: change.object };
}

export interface UpdateDispatcherOptions {
  hub: UpdateHub;
  secrets: SecretReader;
  problems?: ProblemReporter;
  logger: Logger;
}

export class UpdateDispatcher {
  readonly #queues = new SerialQueues();

  constructor(private readonly options: UpdateDispatcherOptions) {}

  componentHandler(): InformerHandler<Component> {
    return changeHandler((change) => this.#enqueue(change.object, () => this.#deliverComponent(change)));
  }

  subscriptionHandler(): InformerHandler<Subscription> {
    return changeHandler((change) => this.#enqueue(change.object, async () => this.#deliverSubscription(change)));
  }

  /** HTTPEndpoints are announced on add and update only (Dapr sends no deletions on this stream). */
  httpEndpointHandler(): InformerHandler<HttpEndpoint> {
    return changeHandler((change) => {
      if (change.kind !== 'deleted') this.#enqueue(change.object, () => this.#deliverHttpEndpoint(change.object));
    });
  }

  /** Resolves once every queued event has been handled (tests, shutdown). */
  idle(): Promise<void> {
    return this.#queues.idle();
  }

  #enqueue(object: { metadata?: { namespace?: string } }, task: () => Promise<void>): void {
    const namespace = object.metadata?.namespace ?? '';
    this.#queues.run(namespace, task).catch((error: unknown) => {
      this.options.logger.error('delivering an update failed', { namespace, error });
    });
  }

  async #deliverComponent(change: Change<Component>): Promise<void> {
    const { hub } = this.options;
    const namespace = change.object.metadata?.namespace ?? '';
    const subscribers = hub.subscribers<Messages.ComponentUpdateEvent>('components', namespace);
    if (subscribers.length === 0) return;
    const messages = new Map<string, Promise<Messages.ComponentUpdateEvent | undefined>>();
    const messageFor = (type: EventType, object: Component) => {
      const key = `${type}/${object === change.object ? 'new' : 'old'}`;
      let message = messages.get(key);
      if (!message) {
        message = this.#componentMessage(type, object);
        messages.set(key, message);
      }
      return message;
    };
    for (const subscriber of subscribers) {
      const event = componentEventFor(subscriber.appId, change);
      if (!event) continue;
      const message = await messageFor(event.type, event.object);
      if (message) hub.send('components', subscriber, message);
    }
  }

  async #componentMessage(type: EventType, component: Component): Promise<Messages.ComponentUpdateEvent | undefined> {
    let payload = component;
    try {
      payload = await resolveComponentSecrets(component, this.options.secrets);
    } catch (error) {
      if (!(error instanceof SecretResolutionError)) throw error;
      this.options.problems?.secretFailure('Component', component, error);
      // A deletion only needs the name: announce it even when its secrets are gone too.
      if (type !== EventType.DELETED) return undefined;
    }
    const message = new protos.operator.ComponentUpdateEvent();
    message.setComponent(encode(componentKind, payload));
    message.setType(type);
    return message;
  }

  #deliverSubscription(change: Change<Subscription>): void {
    const { hub } = this.options;
    const subscribers = hub.subscribers<Messages.SubscriptionUpdateEvent>('subscriptions', change.object.metadata?.namespace ?? '');
    if (subscribers.length === 0) return;
    const message = new protos.operator.SubscriptionUpdateEvent();
    message.setSubscription(encode(subscriptionKind, change.object));
    message.setType({ added: EventType.CREATED, updated: EventType.UPDATED, deleted: EventType.DELETED }[change.kind]);
    for (const subscriber of subscribers) hub.send('subscriptions', subscriber, message);
  }

  async #deliverHttpEndpoint(endpoint: HttpEndpoint): Promise<void> {
    const { hub } = this.options;
    const subscribers = hub.subscribers<Messages.HTTPEndpointUpdateEvent>('httpendpoints', endpoint.metadata?.namespace ?? '');
    if (subscribers.length === 0) return;
    let payload: HttpEndpoint;
    try {
      payload = await resolveHttpEndpointSecrets(endpoint, this.options.secrets);
    } catch (error) {
      if (!(error instanceof SecretResolutionError)) throw error;
      this.options.problems?.secretFailure('HTTPEndpoint', endpoint, error);
      return;
    }
    const message = new protos.operator.HTTPEndpointUpdateEvent();
    message.setHttpEndpoints(encode(httpEndpointKind, payload));
    for (const subscriber of subscribers) hub.send('httpendpoints', subscriber, message);
  }
}

function changeHandler<T>(deliver: (change: Change<T>) => void): InformerHandler<T> {
  return {
    added: (object) => deliver({ kind: 'added', object }),
    updated: (previous, object) => deliver({ kind: 'updated', object, previous }),
    // An object that only stopped matching the informer's filter still exists; dapr.io informers keep all objects.
    removed: (object) => deliver({ kind: 'deleted', object }),
  };
}
