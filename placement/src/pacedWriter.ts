// Paces writes to all sidecar streams under one byte budget. A round sends the same table to every stream, but
// grpc-js frames a private copy of each message when it is written: writing a 350 KB table to 5,000 streams at
// once would hold 1.7 GB. Instead, at most `budgetBytes` of writes are in flight; each stream has one write in
// flight at a time and the rest wait their turn in its own outbox (so per-stream order is kept).
// A write still in flight after `slowMs` stops counting against the budget — a slow or stalled reader must not
// hold up everyone else (stalled ones are dropped by their connection's stall detector). One timer watches all
// writes in flight; it never keeps the process alive, and `close()` clears it when the server stops.

export interface PacedStream {
  /** Writes the stream's next message; calls `done` when it has been sent. Returns its size, or undefined if none. */
  writeHead(done: () => void): number | undefined;
}

interface Write {
  /** Bytes counted against the budget until it completes or becomes slow. */
  size: number;
  startedAt: number;
}

export class PacedWriter {
  readonly #waiting = new Set<PacedStream>();
  /** Writes counting against the budget, oldest first (a Set keeps insertion order). */
  readonly #inFlight = new Set<Write>();
  /** One timer for all writes in flight, due when the oldest becomes slow (a timer per write costs more). */
  #slowTimer: NodeJS.Timeout | undefined;
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

  /** Forgets the waiting streams and stops the timer (the server is shutting down). */
  close(): void {
    this.#waiting.clear();
    clearTimeout(this.#slowTimer);
    this.#slowTimer = undefined;
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
    const write: Write = { size: 0, startedAt: performance.now() };
    let finished = false;
    const size = stream.writeHead(() => {
      finished = true;
      this.#release(write);
      // The stream may have requested its next write in the meantime; let the queue move.
      queueMicrotask(() => this.#pump());
    });
    if (size === undefined || finished) return;
    write.size = size;
    this.#inFlightBytes += size;
    this.#inFlight.add(write);
    if (!this.#slowTimer) this.#armSlowTimer(this.slowMs);
  }

  #release(write: Write): void {
    if (this.#inFlight.delete(write)) this.#inFlightBytes -= write.size;
  }

  #armSlowTimer(ms: number): void {
    this.#slowTimer = setTimeout(() => this.#releaseSlow(), Math.max(0, ms)).unref();
  }

  /** Writes in flight for `slowMs` or more stop counting; the timer is re-armed for the next oldest. */
  #releaseSlow(): void {
    this.#slowTimer = undefined;
    const now = performance.now();
    let released = false;
    for (const write of this.#inFlight) {
      const dueIn = write.startedAt + this.slowMs - now;
      if (dueIn > 0) {
        this.#armSlowTimer(dueIn);
        break;
      }
      this.#release(write);
      released = true;
    }
    if (released) this.#pump();
  }
}
