import { EventLoop } from './eventLoop.js';

describe('EventLoop', () => {
  it('handles events in order, queueing those raised while handling', () => {
    const seen: string[] = [];
    const loop: EventLoop<string> = new EventLoop(
      (event) => {
        seen.push(`start ${event}`);
        if (event === 'a') loop.enqueue('b');
        seen.push(`end ${event}`);
      },
      () => undefined,
    );
    loop.enqueue('a');
    expect(seen).toEqual(['start a', 'end a', 'start b', 'end b']);
  });

  it('reports a failing event and goes on with the next', () => {
    const errors: string[] = [];
    const handled: number[] = [];
    const loop = new EventLoop<number>(
      (n) => {
        if (n === 1) throw new Error('boom');
        handled.push(n);
      },
      (error, n) => errors.push(`${n}: ${(error as Error).message}`),
    );
    loop.enqueue(1);
    loop.enqueue(2);
    expect(errors).toEqual(['1: boom']);
    expect(handled).toEqual([2]);
  });

  it('ignores events after close', () => {
    const handled: number[] = [];
    const loop = new EventLoop<number>((n) => handled.push(n), () => undefined);
    loop.close();
    loop.enqueue(1);
    expect(handled).toEqual([]);
  });
});
