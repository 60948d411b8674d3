// A typed informer: list, then watch from the list's resourceVersion, keeping a local cache and telling handlers
// about every change exactly once. Modelled on client-go's reflector (and client-node's cache.ts), with what
// client-node 1.4's ListWatch lacks: it resumes a broken watch from the last resourceVersion instead of stopping,
// relists on 410 Gone and reconciles the cache against the fresh list (so deletions missed while disconnected are
// announced and unchanged objects are not re-announced), asks for bookmarks so resuming rarely needs a relist, lists
// in pages, backs off 1 s → 30 s on errors, and keeps only what `transform` returns — objects it drops (other
// workloads) cost nothing but the time to look at them.
import type { Logger } from '../logger.js';
import { abortableDelay } from '../delay.js';
import { isGone, KubeApiError, type RawWatchEvent } from './kubeHttp.js';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  uid?: string;
}

export interface KubeObject {
  metadata?: ObjectMeta;
}

export interface ListPage<T> {
  items: T[];
  resourceVersion: string;
  continue?: string;
}

/** Where an informer gets its objects: a list (paged) and a watch from a resourceVersion. */
export interface ListWatchSource<T> {
  list(options: { limit: number; continue?: string; signal: AbortSignal }): Promise<ListPage<T>>;
  /** Resolves when the server ends the watch; rejects on errors. `onEvent` may throw to stop the watch. */
  watch(options: { resourceVersion: string; timeoutSeconds: number; signal: AbortSignal }, onEvent: (event: RawWatchEvent) => void): Promise<void>;
}

export type RemovalReason = 'deleted' | 'filtered';

export interface InformerHandler<T> {
  added?(object: T): void;
  updated?(previous: T, object: T): void;
  /** `filtered`: the object still exists but `transform` no longer keeps it (e.g. its annotation went away). */
  removed?(object: T, reason: RemovalReason): void;
}

export interface InformerOptions<Raw, T> {
  name: string;
  source: ListWatchSource<Raw>;
  /** What to cache of an object; undefined drops it. Defaults to keeping the object as it came. */
  transform?: (raw: Raw) => T | undefined;
  logger: Logger;
  pageSize?: number;
  /** Bounds of the server-side watch timeout; a random value in between spreads reconnects of many replicas. */
  watchTimeoutSeconds?: [number, number];
  backoff?: { initialMs: number; maxMs: number };
  /** For tests: how to wait (the default is an abortable timer). */
  delay?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Thrown inside a watch to end it with a relist (the API server reported 410 Gone / "too old resource version"). */
class ResourceVersionExpired extends Error {}

export class Informer<T extends KubeObject, Raw extends KubeObject = T> {
  readonly name: string;
  readonly #options: InformerOptions<Raw, T>;
  readonly #objects = new Map<string, Map<string, T>>();
  readonly #handlers: InformerHandler<T>[] = [];
  readonly #syncWaiters: Array<() => void> = [];
  #size = 0;
  #resourceVersion = '';
  #synced = false;
  #lists = 0;

  constructor(options: InformerOptions<Raw, T>) {
    this.name = options.name;
    this.#options = options;
  }

  /** Adds a handler; handlers run synchronously, in event order. Add them before `run`. */
  on(handler: InformerHandler<T>): void {
    this.#handlers.push(handler);
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** How many full lists were made (the first, and one per 410 Gone or unresumable watch). */
  get lists(): number {
    return this.#lists;
  }

  get size(): number {
    return this.#size;
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Resolves once the first list has been applied; rejects if `signal` aborts first. */
  whenSynced(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new Error(`${this.name} informer stopped before it synced`));
      this.#syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get(namespace: string, name: string): T | undefined {
    return this.#objects.get(namespace)?.get(name);
  }

  /** Cached objects of one namespace, or of all namespaces. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.#objects.get(namespace)?.values() ?? [])];
    const all: T[] = [];
    for (const objects of this.#objects.values()) all.push(...objects.values());
    return all;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger } = this.#options;
    const backoff = this.#options.backoff ?? { initialMs: 1000, maxMs: 30_000 };
    let failures = 0;
    const pause = async (error: unknown) => {
      const ms = Math.min(backoff.maxMs, backoff.initialMs * 2 ** failures);
      failures++;
      logger.warn('list/watch failed; retrying', { informer: this.name, error, retryInMs: ms });
      await this.#delay(ms, signal);
    };
    while (!signal.aborted) {
      if (!this.#resourceVersion) {
        try {
          await this.#relist(signal);
          failures = 0;
        } catch (error) {
          if (signal.aborted) break;
          await pause(error);
          continue;
        }
      }
      const started = Date.now();
      let events = 0;
      try {
        await this.#options.source.watch(
          { resourceVersion: this.#resourceVersion, timeoutSeconds: this.#watchTimeout(), signal },
          (event) => {
            events++;
            this.#apply(event);
          },
        );
        if (signal.aborted) break;
        failures = 0;
        // A server that ends watches at once without sending anything would make this loop spin: slow it down.
        if (events === 0 && Date.now() - started < 1000) await this.#delay(200, signal);
        logger.debug('watch ended; resuming', { informer: this.name, resourceVersion: this.#resourceVersion, events });
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof ResourceVersionExpired || isGone(error)) {
          logger.info('resource version expired; relisting', { informer: this.name, resourceVersion: this.#resourceVersion });
          this.#resourceVersion = '';
          continue;
        }
        await pause(error);
      }
    }
  }

  async #relist(signal: AbortSignal): Promise<void> {
    const pageSize = this.#options.pageSize ?? 500;
    const transform = this.#options.transform ?? ((raw: Raw) => raw as unknown as T);
    const seen = new Set<string>();
    const present = new Set<string>();
    let token: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.#options.source.list({ limit: pageSize, continue: token, signal });
      for (const raw of page.items) {
        const key = keyOf(raw);
        present.add(key);
        const object = transform(raw);
        if (object === undefined) continue;
        seen.add(key);
        this.#upsert(object);
      }
      resourceVersion = page.resourceVersion;
      token = page.continue || undefined;
    } while (token);
    for (const [namespace, objects] of this.#objects) {
      for (const [name, object] of objects) {
        const key = `${namespace}/${name}`;
        if (!seen.has(key)) this.#remove(object, present.has(key) ? 'filtered' : 'deleted');
      }
    }
    this.#resourceVersion = resourceVersion;
    this.#lists++;
    this.#options.logger.debug('listed', { informer: this.name, cached: this.#size, resourceVersion });
    if (!this.#synced) {
      this.#synced = true;
      for (const waiter of this.#syncWaiters.splice(0)) waiter();
    }
  }

  #apply(event: RawWatchEvent): void {
    const raw = event.object as Raw & { code?: number; message?: string };
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const object = (this.#options.transform ?? ((r: Raw) => r as unknown as T))(raw);
        if (object === undefined) {
          const cached = this.#cached(raw);
          if (cached) this.#remove(cached, 'filtered');
        } else {
          this.#upsert(object);
        }
        break;
      }
      case 'DELETED': {
        const cached = this.#cached(raw);
        if (cached) this.#remove(cached, 'deleted');
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR':
        if (raw.code === 410) throw new ResourceVersionExpired(raw.message ?? 'resource version expired');
        throw new KubeApiError(raw.code ?? 500, 'WatchError', `watch of ${this.name} failed: ${raw.message ?? 'unknown error'}`);
      default:
        throw new Error(`watch of ${this.name}: unknown event type ${JSON.stringify(event.type)}`);
    }
    const version = raw.metadata?.resourceVersion;
    if (version) this.#resourceVersion = version;
  }

  #cached(raw: KubeObject): T | undefined {
    return this.get(raw.metadata?.namespace ?? '', raw.metadata?.name ?? '');
  }

  #upsert(object: T): void {
    const namespace = object.metadata?.namespace ?? '';
    const name = object.metadata?.name ?? '';
    let objects = this.#objects.get(namespace);
    if (!objects) {
      objects = new Map();
      this.#objects.set(namespace, objects);
    }
    const previous = objects.get(name);
    if (previous && sameVersion(previous, object)) return;
    objects.set(name, object);
    if (previous) {
      for (const handler of this.#handlers) this.#call(() => handler.updated?.(previous, object));
    } else {
      this.#size++;
      for (const handler of this.#handlers) this.#call(() => handler.added?.(object));
    }
  }

  #remove(object: T, reason: RemovalReason): void {
    const namespace = object.metadata?.namespace ?? '';
    const objects = this.#objects.get(namespace);
    if (!objects?.delete(object.metadata?.name ?? '')) return;
    this.#size--;
    if (objects.size === 0) this.#objects.delete(namespace);
    for (const handler of this.#handlers) this.#call(() => handler.removed?.(object, reason));
  }

  // A failing handler must not break the informer (nor skip the other handlers).
  #call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#options.logger.error('informer handler failed', { informer: this.name, error });
    }
  }

  #watchTimeout(): number {
    const [min, max] = this.#options.watchTimeoutSeconds ?? [300, 600];
    return Math.floor(min + Math.random() * (max - min));
  }

  #delay(ms: number, signal: AbortSignal): Promise<void> {
    return (this.#options.delay ?? abortableDelay)(ms, signal);
  }
}

function keyOf(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

// Servers without resourceVersions (Dapr's test fake) still get change detection, by content.
function sameVersion(a: KubeObject, b: KubeObject): boolean {
  const va = a.metadata?.resourceVersion;
  const vb = b.metadata?.resourceVersion;
  if (va && vb) return va === vb;
  return JSON.stringify(a) === JSON.stringify(b);
}
