import { silentLogger } from '../logger.js';
import { Informer, type KubeObject, type ListPage, type ListWatchSource } from './informer.js';
import { KubeApiError, type RawWatchEvent } from './kubeHttp.js';

interface Obj extends KubeObject {
  data?: string;
  keep?: boolean;
}

const obj = (name: string, rv: string, extra: Partial<Obj> = {}): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion: rv }, ...extra });

type WatchScript = (resourceVersion: string, emit: (event: RawWatchEvent) => void) => Promise<void>;

/** A scripted API: list returns `pages` (one call per page); each watch runs the next script. */
class FakeSource implements ListWatchSource<Obj> {
  lists: Array<{ continue?: string }> = [];
  watches: string[] = [];
  constructor(
    public pages: Array<ListPage<Obj>>,
    public scripts: WatchScript[],
  ) {}

  async list(options: { limit: number; continue?: string }): Promise<ListPage<Obj>> {
    this.lists.push({ continue: options.continue });
    const index = options.continue ? Number(options.continue) : 0;
    const page = this.pages[index];
    if (!page) throw new Error(`no page ${index}`);
    return page;
  }

  async watch(options: { resourceVersion: string; signal: AbortSignal }, onEvent: (event: RawWatchEvent) => void): Promise<void> {
    this.watches.push(options.resourceVersion);
    const script = this.scripts.shift();
    if (!script) {
      // No more scripted watches: block until the informer stops.
      await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
      return;
    }
    await script(options.resourceVersion, onEvent);
  }
}

function record(informer: Informer<Obj>) {
  const log: string[] = [];
  informer.on({
    added: (o) => log.push(`added ${o.metadata?.name}@${o.metadata?.resourceVersion}`),
    updated: (p, o) => log.push(`updated ${o.metadata?.name} ${p.metadata?.resourceVersion}->${o.metadata?.resourceVersion}`),
    removed: (o, reason) => log.push(`removed ${o.metadata?.name} (${reason})`),
  });
  return log;
}

async function runUntil(informer: Informer<Obj>, done: () => boolean): Promise<void> {
  const controller = new AbortController();
  const running = informer.run(controller.signal);
  for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  controller.abort();
  await running;
}

const delays: number[] = [];
const delay = async (ms: number) => {
  delays.push(ms);
};

describe('Informer', () => {
  beforeEach(() => delays.splice(0));

  describe('when it starts', () => {
    it('lists all pages, reports synced, then watches from the list’s resourceVersion', async () => {
      const source = new FakeSource(
        [
          { items: [obj('a', '1')], resourceVersion: '10', continue: '1' },
          { items: [obj('b', '2')], resourceVersion: '10' },
        ],
        [],
      );
      const informer = new Informer<Obj>({ name: 'test', source, logger: silentLogger(), delay });
      const log = record(informer);
      await runUntil(informer, () => source.watches.length > 0);
      expect(source.lists).toEqual([{ continue: undefined }, { continue: '1' }]);
      expect(source.watches).toEqual(['10']);
      expect(informer.synced).toBe(true);
      expect(log).toEqual(['added a@1', 'added b@2']);
      expect(informer.list('ns').map((o) => o.metadata?.name).sort()).toEqual(['a', 'b']);
    });
  });

  describe('when the watch ends or breaks', () => {
    it('resumes from the last resourceVersion seen (bookmarks included) without listing again', async () => {
      const source = new FakeSource(
        [{ items: [], resourceVersion: '10' }],
        [
          async (_rv, emit) => {
            emit({ type: 'ADDED', object: obj('a', '11') });
            emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } });
          },
          async (_rv, emit) => {
            emit({ type: 'MODIFIED', object: obj('a', '16') });
            throw new Error('connection reset');
          },
          async (_rv, emit) => {
            emit({ type: 'DELETED', object: obj('a', '17') });
          },
        ],
      );
      const informer = new Informer<Obj>({ name: 'test', source, logger: silentLogger(), delay });
      const log = record(informer);
      await runUntil(informer, () => source.watches.length >= 4);
      expect(source.lists).toHaveLength(1);
      expect(source.watches).toEqual(['10', '15', '16', '17']);
      expect(log).toEqual(['added a@11', 'updated a 11->16', 'removed a (deleted)']);
      expect(delays).toEqual([1000]);
    });
  });

  describe('when the resourceVersion has expired (410 Gone)', () => {
    it('relists and announces only the differences: missed deletions, changes and additions, once each', async () => {
      const source = new FakeSource(
        [{ items: [obj('a', '1'), obj('b', '2'), obj('c', '3')], resourceVersion: '10' }],
        [
          async (_rv, emit) => {
            emit({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version: 10 (20)' } });
          },
        ],
      );
      const informer = new Informer<Obj>({ name: 'test', source, logger: silentLogger(), delay });
      const log = record(informer);
      // After the 410 the cluster has: a unchanged, b changed, c gone, d new.
      const relist = { items: [obj('a', '1'), obj('b', '21'), obj('d', '22')], resourceVersion: '30' };
      const original = source.list.bind(source);
      source.list = async (options) => (source.lists.length === 0 ? original(options) : (source.lists.push({}), relist));
      await runUntil(informer, () => source.watches.length >= 2);
      expect(source.lists).toHaveLength(2);
      expect(source.watches).toEqual(['10', '30']);
      expect(log).toEqual(['added a@1', 'added b@2', 'added c@3', 'updated b 2->21', 'added d@22', 'removed c (deleted)']);
      expect(informer.lists).toBe(2);
    });

    it('also relists when the watch request itself fails with HTTP 410', async () => {
      const source = new FakeSource(
        [{ items: [], resourceVersion: '10' }],
        [
          async () => {
            throw new KubeApiError(410, 'Expired', 'gone');
          },
        ],
      );
      const informer = new Informer<Obj>({ name: 'test', source, logger: silentLogger(), delay });
      await runUntil(informer, () => source.watches.length >= 2);
      expect(source.lists).toHaveLength(2);
      expect(delays).toEqual([]);
    });
  });

  describe('when a transform filters objects', () => {
    it('caches only what it keeps and reports objects that stop matching as filtered', async () => {
      const source = new FakeSource(
        [{ items: [obj('a', '1', { keep: true }), obj('b', '2')], resourceVersion: '10' }],
        [
          async (_rv, emit) => {
            emit({ type: 'MODIFIED', object: obj('b', '11') });
            emit({ type: 'MODIFIED', object: obj('a', '12', { keep: false }) });
          },
        ],
      );
      const informer = new Informer<Obj>({
        name: 'test',
        source,
        logger: silentLogger(),
        delay,
        transform: (o) => (o.keep ? { metadata: o.metadata } : undefined),
      });
      const log = record(informer);
      await runUntil(informer, () => source.watches.length >= 2);
      expect(log).toEqual(['added a@1', 'removed a (filtered)']);
      expect(informer.size).toBe(0);
    });
  });

  describe('when listing fails', () => {
    it('backs off exponentially up to the maximum and tries again', async () => {
      let failures = 0;
      const source = new FakeSource([{ items: [obj('a', '1')], resourceVersion: '10' }], []);
      const original = source.list.bind(source);
      source.list = async (options) => {
        if (failures++ < 4) throw new Error('API server unavailable');
        return original(options);
      };
      const informer = new Informer<Obj>({ name: 'test', source, logger: silentLogger(), delay, backoff: { initialMs: 1000, maxMs: 5000 } });
      await runUntil(informer, () => informer.synced);
      expect(delays).toEqual([1000, 2000, 4000, 5000]);
      expect(informer.get('ns', 'a')).toBeDefined();
    });
  });

  describe('when a server answers without resourceVersions (Dapr’s test fake)', () => {
    it('relists after each watch and still reports each change once, by content', async () => {
      const plain = (name: string, data: string): Obj => ({ metadata: { name, namespace: 'ns' }, data });
      let listed = 0;
      const source = new FakeSource([], [async (_rv, emit) => emit({ type: 'ADDED', object: plain('a', 'x') }), async () => undefined]);
      source.list = async () => {
        listed++;
        return { items: listed === 1 ? [plain('a', 'x')] : [plain('a', 'y')], resourceVersion: '' };
      };
      const informer = new Informer<Obj>({ name: 'test', source, logger: silentLogger(), delay });
      const log = record(informer);
      await runUntil(informer, () => listed >= 2 && source.watches.length >= 2);
      expect(log).toEqual(['added a@undefined', 'updated a undefined->undefined']);
      expect(informer.get('ns', 'a')?.data).toBe('y');
    });
  });
});
