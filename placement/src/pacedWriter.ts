// Paces writes to all sidecar streams under one byte budget. A round sends the same table to every stream, but
// grpc-js frames a private copy of each message when it is written: writing a 350 KB table to 5,000 streams at
// once would hold 1.7 GB. Instead, at most `budgetBytes` of writes are in flight; each stream has one write in
// flight at a time and the rest wait their turn in its own outbox (so per-stream order is kept).
// A write still in flight after `slowMs` stops counting against the budget — a slow or stalled reader must not
// hold up everyone else (stalled ones are dropped by their connection's stall detector). Those timers never keep
// the process alive, and `close()` clears them when the server stops.

export interface PacedStream {
  /** Writes the stream's next message; calls `done` when it has been sent. Returns its size, or undefined if none. */
  writeHead(done: () => void): number | undefined;
}

export class PacedWriter {
  readonly #waiting = new Set<PacedStream>();
  readonly #slowTimers = new Set<NodeJS.Timeout>();
  #inFlightBytes = 0;
  #pumping = false;

  constructor(
    private readonly budgetBytes: number,
    private readonly slowMs = 1000,
  ) {}

  /** The stream has a message to write (and none in flight). */
  request(stream: PacedStream): void {
    this.#waiting.add(stream);
    this.#pump();
  }

  cancel(stream: PacedStream): void {
    this.#waiting.delete(stream);
  }

  /** Forgets the waiting streams and stops the timers (the server is shutting down). */
  close(): void {
    this.#waiting.clear();
    for (const timer of this.#slowTimers) clearTimeout(timer);
    this.#slowTimers.clear();
  }

  get inFlightBytes(): number {
    return this.#inFlightBytes;
  }

  get waiting(): number {
    return this.#waiting.size;
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (const stream of this.#waiting) {
        if (this.#inFlightBytes >= this.budgetBytes) return;
        this.#waiting.delete(stream);
        this.#start(stream);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #start(stream: PacedStream): void {
    let counted = 0;
    let finished = false;
    const release = () => {
      this.#inFlightBytes -= counted;
      counted = 0;
    };
    const slow = setTimeout(() => {
      this.#slowTimers.delete(slow);
      release();
      this.#pump();
    }, this.slowMs).unref();
    this.#slowTimers.add(slow);
    const stop = () => {
      clearTimeout(slow);
      this.#slowTimers.delete(slow);
    };
    const size = stream.writeHead(() => {
      finished = true;
      stop();
      release();
      // The stream may have requested its next write in the meantime; let the queue move.
      queueMicrotask(() => this.#pump());
    });
    if (size === undefined || finished) {
      stop();
      return;
    }
    counted = size;
    this.#inFlightBytes += size;
  }
}
