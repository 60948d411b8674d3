import { bool, duration, f, goAny, goNumber, goString, int, map, o, pointer, rawJson, slice, string, struct, time } from './goJson.js';

describe('goString', () => {
  it('escapes what Go’s encoding/json escapes for HTML safety', () => {
    expect(goString('<a & b>')).toBe('"\\u003ca \\u0026 b\\u003e"');
    expect(goString('line\u2028sep')).toBe('"line\\u2028sep"');
    expect(goString('tab\tquote"')).toBe('"tab\\tquote\\""');
  });

  it('replaces text that is not valid Unicode with U+FFFD, as Go does', () => {
    expect(goString('a\ud800b')).toBe('"a\ufffdb"');
  });
});

describe('goNumber and goAny', () => {
  it('writes exponents with two digits like Go', () => {
    expect(goNumber(1e-7)).toBe('1e-07');
    expect(goNumber(1e21)).toBe('1e+21');
    expect(goNumber(12.5)).toBe('12.5');
  });

  it('sorts object keys by bytes, including integer-like keys JavaScript would put first', () => {
    expect(goAny({ b: 1, 10: true, 2: null, a: [1, 'x'] })).toBe('{"10":true,"2":null,"a":[1,"x"],"b":1}');
  });
});

describe('struct encoding', () => {
  const inner = struct([f('name', string), f('key', string)]);
  const codec = struct([
    { inline: struct([o('kind', string)]) },
    f('s', string),
    o('so', string),
    f('b', bool),
    o('bo', bool),
    f('i', int),
    o('io', int),
    f('sl', slice(string)),
    o('slo', slice(string)),
    f('m', map(string)),
    o('mo', map(string)),
    f('p', pointer(bool)),
    o('po', pointer(bool)),
    o('st', inner),
    o('raw', rawJson),
    f('t', time),
    o('d', pointer(duration)),
  ]);

  describe('when every field is absent', () => {
    it('writes Go’s zero values: null for nil slices, maps and pointers, keeps structs, drops omitempty zeros', () => {
      expect(codec.encode({})).toBe(
        '{"s":"","b":false,"i":0,"sl":null,"m":null,"p":null,"st":{"name":"","key":""},"raw":null,"t":null}',
      );
    });
  });

  describe('when fields are set', () => {
    it('keeps declaration order, sorts map keys, normalises durations and times, drops unknown fields', () => {
      const value = {
        unknown: 'dropped',
        d: '1m',
        t: '2025-01-02T03:04:05Z',
        raw: { z: 1, a: 'v' },
        st: { key: 'k', name: 'n' },
        po: false,
        p: true,
        mo: {},
        m: { b: '2', a: '1' },
        slo: [],
        sl: [],
        io: 0,
        i: 7,
        bo: true,
        b: true,
        so: 'x',
        s: 'y',
        kind: 'K',
      };
      expect(codec.encode(value)).toBe(
        '{"kind":"K","s":"y","so":"x","b":true,"bo":true,"i":7,"sl":[],"m":{"a":"1","b":"2"},"p":true,"po":false,' +
          '"st":{"name":"n","key":"k"},"raw":{"a":"v","z":1},"t":"2025-01-02T03:04:05Z","d":"1m0s"}',
      );
    });
  });
});
