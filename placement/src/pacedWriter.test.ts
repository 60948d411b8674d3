import { PacedWriter, type PacedStream } from './pacedWriter.js';

/** A stream whose writes complete only when the test says so. */
class ManualStream implements PacedStream {
  readonly started: number[] = [];
  readonly #pending: Array<() => void> = [];
  constructor(
    private readonly writer: PacedWriter,
    private readonly outbox: number[],
  ) {}
  writeHead(done: () => void): number | undefined {
    const size = this.outbox.shift();
    if (size === undefined) return undefined;
    this.started.push(size);
    this.#pending.push(() => {
      done();
      if (this.outbox.length) this.writer.request(this);
    });
    return size;
  }
  complete(): void {
    this.#pending.shift()?.();
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('PacedWriter', () => {
  it('keeps the bytes in flight under the budget and lets the queue move as writes complete', async () => {
    const writer = new PacedWriter(100, 10_000);
    const streams = [0, 1, 2].map(() => new ManualStream(writer, [60]));
    for (const stream of streams) writer.request(stream);
    expect(streams.map((s) => s.started.length)).toEqual([1, 1, 0]);
    expect(writer.inFlightBytes).toBe(120);
    streams[0]!.complete();
    await tick();
    expect(streams[2]!.started).toEqual([60]);
  });

  it('writes one order per stream at a time, in order', async () => {
    const writer = new PacedWriter(1000, 10_000);
    const stream = new ManualStream(writer, [1, 2, 3]);
    writer.request(stream);
    expect(stream.started).toEqual([1]);
    stream.complete();
    await tick();
    stream.complete();
    await tick();
    expect(stream.started).toEqual([1, 2, 3]);
  });

  it('stops counting a write that takes longer than the slow limit, so a stalled stream holds no one up', async () => {
    const writer = new PacedWriter(100, 20);
    const stalled = new ManualStream(writer, [100]);
    const next = new ManualStream(writer, [50]);
    writer.request(stalled);
    writer.request(next);
    expect(next.started).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(next.started).toEqual([50]);
    expect(writer.inFlightBytes).toBe(50);
  });

  it('holds no timer once closed, and leaves none behind for writes that never complete', async () => {
    const writer = new PacedWriter(100, 20);
    const stalled = new ManualStream(writer, [100]);
    const next = new ManualStream(writer, [50]);
    writer.request(stalled);
    writer.request(next);
    writer.close();
    expect(writer.waiting).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 40));
    // The slow timer was cleared: the stalled write still counts and nothing else was started.
    expect(next.started).toEqual([]);
    expect(writer.inFlightBytes).toBe(100);
  });
});
