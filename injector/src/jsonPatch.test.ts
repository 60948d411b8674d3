import { applyPatch, diffPatch } from './jsonPatch.js';

describe('diffPatch', () => {
  describe('when arrays grow at the end', () => {
    it('writes appends as "/-", in order', () => {
      const before = { list: [1], nested: { items: ['a'] } };
      const after = { list: [1, 2, 3], nested: { items: ['a', 'b'] } };
      const ops = diffPatch(before, after);
      expect(ops).toEqual(
        expect.arrayContaining([
          { op: 'add', path: '/list/-', value: 2 },
          { op: 'add', path: '/list/-', value: 3 },
          { op: 'add', path: '/nested/items/-', value: 'b' },
        ]),
      );
      expect(applyPatch(before, ops)).toEqual(after);
    });
  });

  describe('when a member is new', () => {
    it('adds it whole, escaping "/" in keys', () => {
      const ops = diffPatch({ metadata: {} }, { metadata: { labels: { 'dapr.io/app-id': 'x' } } });
      expect(ops).toEqual([{ op: 'add', path: '/metadata/labels', value: { 'dapr.io/app-id': 'x' } }]);
      expect(diffPatch({ l: { a: '1' } }, { l: { a: '1', 'dapr.io/x': 'y' } })).toEqual([{ op: 'add', path: '/l/dapr.io~1x', value: 'y' }]);
    });
  });

  describe('when nothing changed', () => {
    it('returns no operations', () => {
      const pod = { spec: { containers: [{ name: 'a' }] } };
      expect(diffPatch(pod, { ...pod, spec: { ...pod.spec } })).toEqual([]);
    });
  });
});
