import { DueQueue } from './dueQueue.js';

const item = (name: string) => ({ name, queuedSeq: 0 });

describe('DueQueue', () => {
  it('hands out due items earliest first, skipping cancelled and re-queued entries', () => {
    const queue = new DueQueue<ReturnType<typeof item>>();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(item);
    queue.push(a!, 30);
    queue.push(b!, 10);
    queue.push(c!, 20);
    queue.push(d!, 5);
    queue.cancel(d!);
    queue.push(c!, 40); // re-queued later: its old entry at 20 is stale
    expect(queue.peek()).toBe(10);
    expect(queue.takeDue(30).map((x) => x.name)).toEqual(['b', 'a']);
    expect(queue.takeDue(100).map((x) => x.name)).toEqual(['c']);
    expect(queue.peek()).toBeUndefined();
  });

  it('keeps heap order over many random times and honours the limit', () => {
    const queue = new DueQueue<ReturnType<typeof item>>();
    const times = Array.from({ length: 2000 }, () => Math.floor(Math.random() * 10_000));
    times.forEach((t, i) => queue.push(item(String(i)), t));
    const first = queue.takeDue(Infinity, 500);
    const rest = queue.takeDue(Infinity);
    expect(first).toHaveLength(500);
    const order = [...first, ...rest].map((x) => times[Number(x.name)]!);
    expect(order).toEqual([...times].sort((x, y) => x - y));
  });
});
