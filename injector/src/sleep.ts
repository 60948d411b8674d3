// Waiting that an AbortSignal cuts short, for the injector's polling loops.

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Exponential backoff from `initialMs` up to `maxMs`; `reset()` after a success. */
export class Backoff {
  #next: number;
  constructor(
    private readonly initialMs = 500,
    private readonly maxMs = 30_000,
  ) {
    this.#next = initialMs;
  }

  take(): number {
    const delay = this.#next;
    this.#next = Math.min(this.#next * 2, this.maxMs);
    return delay;
  }

  reset(): void {
    this.#next = this.initialMs;
  }
}
