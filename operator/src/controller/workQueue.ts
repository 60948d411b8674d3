// A reconcile queue like client-go's workqueue: a key waits at most once; a key is never processed by two workers
// at the same time (if it changes meanwhile it runs again afterwards); failures are retried with exponential
// backoff per key, reset on success.
import type { Logger } from '@tapr/lib/logger';

export interface WorkQueueOptions {
  name: string;
  process: (key: string, signal: AbortSignal) => Promise<void>;
  concurrency?: number;
  backoff?: { initialMs: number; maxMs: number };
  logger: Logger;
}

export class WorkQueue {
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #retryTimers = new Map<string, NodeJS.Timeout>();
  #wake: (() => void) | undefined;
  #stopped = false;

  constructor(private readonly options: WorkQueueOptions) {}

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
    this.#wake?.();
  }

  /** Keys waiting or being processed (tests, metrics). */
  get depth(): number {
    return this.#queue.length + this.#active.size;
  }

  async run(signal: AbortSignal): Promise<void> {
    const workers = Array.from({ length: this.options.concurrency ?? 4 }, () => this.#worker(signal));
    signal.addEventListener('abort', () => this.#wake?.(), { once: true });
    await Promise.all(workers);
    this.#stopped = true;
    for (const timer of this.#retryTimers.values()) clearTimeout(timer);
    this.#retryTimers.clear();
  }

  async #worker(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const key = this.#queue.shift();
      if (key === undefined) {
        await new Promise<void>((resolve) => {
          const previous = this.#wake;
          this.#wake = () => {
            this.#wake = undefined;
            previous?.();
            resolve();
          };
        });
        continue;
      }
      this.#queued.delete(key);
      this.#active.add(key);
      try {
        await this.options.process(key, signal);
        this.#failures.delete(key);
      } catch (error) {
        if (!signal.aborted) this.#retryLater(key, error, signal);
      } finally {
        this.#active.delete(key);
        if (this.#dirty.delete(key)) this.add(key);
      }
    }
  }

  #retryLater(key: string, error: unknown, signal: AbortSignal): void {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 500, maxMs: 60_000 };
    const delay = Math.min(maxMs, initialMs * 2 ** (failures - 1));
    this.options.logger.warn('reconcile failed; retrying', { queue: this.options.name, key, attempt: failures, retryInMs: delay, error });
    if (this.#retryTimers.has(key)) return;
    const timer = setTimeout(() => {
      this.#retryTimers.delete(key);
      if (!signal.aborted) this.add(key);
    }, delay);
    timer.unref();
    this.#retryTimers.set(key, timer);
  }
}
