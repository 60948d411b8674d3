// A single-consumer event loop: events are handled one at a time in arrival order. An event enqueued while one
// is being handled (by the handler itself, or by code it calls) waits its turn, so handlers never re-enter.
export class EventLoop<E> {
  #queue: E[] = [];
  #head = 0;
  #draining = false;
  #closed = false;

  constructor(
    private readonly handle: (event: E) => void,
    private readonly onError: (error: unknown, event: E) => void,
  ) {}

  enqueue(event: E): void {
    if (this.#closed) return;
    this.#queue.push(event);
    if (!this.#draining) this.#drain();
  }

  /** Drops any queued events and ignores new ones. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#head = 0;
  }

  get pending(): number {
    return this.#queue.length - this.#head;
  }

  #drain(): void {
    this.#draining = true;
    try {
      while (this.#head < this.#queue.length) {
        const event = this.#queue[this.#head++] as E;
        try {
          this.handle(event);
        } catch (error) {
          this.onError(error, event);
        }
        // Compact now and then so a long burst does not keep every handled event alive.
        if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
      }
      this.#queue = [];
      this.#head = 0;
    } finally {
      this.#draining = false;
    }
  }
}
