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

  describe('when bodies are large', () => {
    it('keys them by a digest, not by their text', () => {
      const cache = new ReviewCache();
      const body = `{"request":{"uid":"u-1","object":{"x":"${'y'.repeat(4000)}"}}}`;
      const key = cache.key(body, 'u-1', 'g1')!;
      expect(key).toHaveLength(44); // SHA-256, base64
      expect(key).toBe(cache.key(body.replace('u-1', 'u-2'), 'u-2', 'g1'));
    });
  });

  describe('when the body is larger than the limit', () => {
    it('does not key it', () => {
      expect(new ReviewCache(4, 10).key('{"request":{"uid":"u"}}', 'u', 'g')).toBeUndefined();
    });
  });

  describe('when a key is answered for the first time', () => {
    it('remembers the key but keeps the answer only the second time', () => {
      const cache = new ReviewCache();
      cache.set('a', answer(1));
      expect(cache.get('a')).toBeUndefined();
      expect(cache.size).toBe(0);
      cache.set('a', answer(1));
      expect(cache.get('a')).toEqual(answer(1));
    });

    it('forgets keys seen once beyond its bound', () => {
      const cache = new ReviewCache(4, 16 * 1024, 1);
      cache.set('a', answer(1));
      cache.set('b', answer(2)); // pushes a out of the keys seen once
      cache.set('a', answer(1));
      expect(cache.get('a')).toBeUndefined();
    });
  });

  describe('when full', () => {
    it('drops the least recently used entry', () => {
      const cache = new ReviewCache(2);
      const keep = (key: string, value: ReturnType<typeof answer>) => {
        cache.set(key, value);
        cache.set(key, value);
      };
      keep('a', answer(1));
      keep('b', answer(2));
      expect(cache.get('a')).toEqual(answer(1)); // a is now the most recent
      keep('c', answer(3));
      expect(cache.get('b')).toBeUndefined();
      expect(cache.get('a')).toEqual(answer(1));
      expect(cache.get('c')).toEqual(answer(3));
      expect(cache.size).toBe(2);
    });
  });
});
