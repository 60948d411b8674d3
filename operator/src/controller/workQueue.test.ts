import { silentLogger } from '@tapr/lib';
import { WorkQueue } from './workQueue.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('WorkQueue', () => {
  describe('when a key is added several times before it runs', () => {
    it('processes it once', async () => {
      const seen: string[] = [];
      const queue = new WorkQueue({ name: 't', logger: silentLogger(), process: async (key) => void seen.push(key) });
      queue.add('a');
      queue.add('a');
      queue.add('b');
      const controller = new AbortController();
      const running = queue.run(controller.signal);
      while (queue.depth > 0) await tick();
      controller.abort();
      await running;
      expect(seen).toEqual(['a', 'b']);
    });
  });

  describe('when a key is added while it is being processed', () => {
    it('never runs it twice at once, and runs it again afterwards', async () => {
      let active = 0;
      let maxActive = 0;
      let runs = 0;
      let release!: () => void;
      const queue = new WorkQueue({
        name: 't',
        logger: silentLogger(),
        concurrency: 4,
        process: async () => {
          active++;
          runs++;
          maxActive = Math.max(maxActive, active);
          if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
          active--;
        },
      });
      const controller = new AbortController();
      const running = queue.run(controller.signal);
      queue.add('a');
      await tick();
      queue.add('a');
      queue.add('a');
      await tick();
      release();
      while (runs < 2 || queue.depth > 0) await tick();
      controller.abort();
      await running;
      expect(runs).toBe(2);
      expect(maxActive).toBe(1);
    });
  });

  describe('when processing fails', () => {
    it('retries the key with growing delays until it succeeds', async () => {
      let attempts = 0;
      const times: number[] = [];
      const queue = new WorkQueue({
        name: 't',
        logger: silentLogger(),
        backoff: { initialMs: 10, maxMs: 40 },
        process: async () => {
          times.push(Date.now());
          if (++attempts < 4) throw new Error('API server unavailable');
        },
      });
      const controller = new AbortController();
      const running = queue.run(controller.signal);
      queue.add('a');
      while (attempts < 4) await tick();
      controller.abort();
      await running;
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      expect(gaps[0]).toBeGreaterThanOrEqual(9);
      expect(gaps[1]).toBeGreaterThanOrEqual(19);
      expect(gaps[2]).toBeGreaterThanOrEqual(39);
    });
  });
});
