import { ReviewCache } from './reviewCache.js';

const answer = (n: number) => ({ outcome: { result: 'ignored' as const }, answer: { head: `h${n}`, tail: `t${n}` } });

describe('ReviewCache', () => {
  describe('when two requests differ only in their uid', () => {
    it('gives them the same key', () => {
      const cache = new ReviewCache();
      const a = cache.key('{"request":{"uid":"u-1","object":{"x":1}}}', 'u-1', 'g1');
      const b = cache.key('{"request":{"uid":"u-2","object":{"x":1}}}', 'u-2', 'g1');
      expect(a).toBeDefined();
      expect(a).toBe(b);
    });
  });

  describe('when the object or the generation differs', () => {
    it('gives different keys', () => {
      const cache = new ReviewCache();
      const base = cache.key('{"request":{"uid":"u-1","object":{"x":1}}}', 'u-1', 'g1');
      expect(cache.key('{"request":{"uid":"u-1","object":{"x":2}}}', 'u-1', 'g1')).not.toBe(base);
      expect(cache.key('{"request":{"uid":"u-1","object":{"x":1}}}', 'u-1', 'g2')).not.toBe(base);
    });
  });

  describe('when the body is larger than the limit', () => {
    it('does not key it', () => {
      expect(new ReviewCache(4, 10).key('{"request":{"uid":"u"}}', 'u', 'g')).toBeUndefined();
    });
  });

  describe('when full', () => {
    it('drops the least recently used entry', () => {
      const cache = new ReviewCache(2);
      cache.set('a', answer(1));
      cache.set('b', answer(2));
      expect(cache.get('a')).toEqual(answer(1)); // a is now the most recent
      cache.set('c', answer(3));
      expect(cache.get('b')).toBeUndefined();
      expect(cache.get('a')).toEqual(answer(1));
      expect(cache.get('c')).toEqual(answer(3));
      expect(cache.size).toBe(2);
    });
  });
});
