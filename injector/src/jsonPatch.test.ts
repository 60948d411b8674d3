import { applyPatch, diffPatch, patchJson, plainDiffPatch, rememberJson } from './jsonPatch.js';

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

  describe('when values are added whole, appended or change kind', () => {
    const before = { a: { x: 1 }, b: [1, { y: 2 }], c: 'text', d: ['p'], e: { list: [] as unknown[] }, g: [{ s: 1 }] };
    const after = {
      a: [1, 2],
      b: [1, { y: 3 }, { z: [4] }],
      c: { now: 'object' },
      d: ['p', 'q', { r: 1 }],
      e: { list: [{ k: 'v' }] },
      f: { new: true },
      g: ['no longer an object'],
    };

    it('gives the operations of the plain diff, with the values themselves', () => {
      const ops = diffPatch(before, after);
      expect(ops).toEqual(plainDiffPatch(before, after));
      expect(ops).toContainEqual({ op: 'add', path: '/f', value: after.f });
      expect(ops.find((op) => op.path === '/f')).toHaveProperty('value', after.f); // not a copy
      expect(applyPatch(before, ops)).toEqual(after);
    });

    it('leaves no stand-in behind', () => {
      const ops = diffPatch(before, after);
      expect(JSON.parse(JSON.stringify(ops))).toEqual(ops);
      expect(ops.some((op) => 'value' in op && typeof op.value === 'symbol')).toBe(false);
    });
  });
});

describe('patchJson', () => {
  describe('when a value was remembered', () => {
    it('writes the same text as JSON.stringify', () => {
      const container = { name: 'daprd', env: [{ name: 'A', value: '"quoted"' }] };
      rememberJson(container);
      const ops = diffPatch({ spec: { containers: [{ name: 'app' }] } }, { spec: { containers: [{ name: 'app' }, container] } });
      expect(patchJson(ops)).toBe(JSON.stringify(ops));
    });
  });
});
