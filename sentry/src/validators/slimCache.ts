// A cluster-wide list+watch cache that keeps only a slim projection of each object — for pods, the four fields
// the validator reads — so watching every pod costs little memory. Like client-go's reflector: list, watch from
// the list's resourceVersion, resume the watch when it ends, relist on 410 Gone, back off 1 s → 30 s on errors
// (also when a server ends watches at once, as Dapr's test API server does).
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { describeError, type Logger } from '@tapr/lib';
import { setTimeout as delay } from 'node:timers/promises';

interface RawObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface SlimCacheOptions<Raw extends RawObject, T> {
  name: string;
  kubeConfig: KubeConfig;
  /** The collection path, e.g. `/api/v1/pods`. */
  path: string;
  list(): Promise<{ items: Raw[]; metadata?: { resourceVersion?: string } }>;
  transform(raw: Raw): T;
  logger: Logger;
}

export class SlimCache<Raw extends RawObject, T> {
  readonly #objects = new Map<string, T>();
  #synced = false;
  #resourceVersion = '';

  constructor(private readonly options: SlimCacheOptions<Raw, T>) {}

  get synced(): boolean {
    return this.#synced;
  }

  get(namespace: string, name: string): T | undefined {
    return this.#objects.get(`${namespace}/${name}`);
  }

  /** Adds an object fetched directly (a cache miss answered by a GET), so the next lookup finds it. */
  remember(raw: Raw): T {
    const value = this.options.transform(raw);
    this.#objects.set(key(raw), value);
    return value;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger, name } = this.options;
    let failures = 0;
    const backoff = async (error?: unknown) => {
      const ms = Math.min(30_000, 1000 * 2 ** failures);
      failures++;
      if (error) logger.warn('list/watch failed; retrying', { cache: name, error: describeError(error), retryInMs: ms });
      await sleep(ms, signal);
    };
    while (!signal.aborted) {
      if (!this.#resourceVersion) {
        try {
          const list = await this.options.list();
          this.#objects.clear();
          for (const item of list.items) this.#objects.set(key(item), this.options.transform(item));
          this.#resourceVersion = list.metadata?.resourceVersion ?? '';
          if (!this.#synced) logger.info('cache synced', { cache: name, objects: this.#objects.size });
          this.#synced = true;
        } catch (error) {
          if (signal.aborted) return;
          await backoff(error);
          continue;
        }
      }
      const started = Date.now();
      const outcome = await this.#watchOnce(signal);
      if (signal.aborted) return;
      if (outcome === 'gone' || !this.#resourceVersion) {
        this.#resourceVersion = '';
        if (Date.now() - started < 1000) await backoff();
        continue;
      }
      if (outcome instanceof Error) await backoff(outcome);
      else if (Date.now() - started < 1000) await backoff();
      else failures = 0;
    }
  }

  #watchOnce(signal: AbortSignal): Promise<'ended' | 'gone' | Error> {
    return new Promise((resolve) => {
      let gone = false;
      let controller: AbortController | undefined;
      const onAbort = () => controller?.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      const finish = (result: 'ended' | 'gone' | Error) => {
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      new Watch(this.options.kubeConfig)
        .watch(
          this.options.path,
          { resourceVersion: this.#resourceVersion, allowWatchBookmarks: true },
          (phase: string, object: Raw & { code?: number }) => {
            if (phase === 'ERROR') {
              if (object.code === 410) gone = true;
              return;
            }
            if (phase === 'ADDED' || phase === 'MODIFIED') this.#objects.set(key(object), this.options.transform(object));
            else if (phase === 'DELETED') this.#objects.delete(key(object));
            const version = object.metadata?.resourceVersion;
            if (version) this.#resourceVersion = version;
          },
          (error: unknown) => {
            const code = (error as { statusCode?: number; code?: number } | null)?.statusCode ?? (error as { code?: number } | null)?.code;
            if (gone || code === 410) finish('gone');
            else finish(error ? (error instanceof Error ? error : new Error(String(error))) : 'ended');
          },
        )
        .then((c) => {
          controller = c;
          if (signal.aborted) c.abort();
        })
        .catch((error: unknown) => finish(error instanceof Error ? error : new Error(String(error))));
    });
  }
}

function key(raw: RawObject): string {
  return `${raw.metadata?.namespace ?? ''}/${raw.metadata?.name ?? ''}`;
}

/** Waits `ms`, or less when `signal` aborts (also when it already has). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}
