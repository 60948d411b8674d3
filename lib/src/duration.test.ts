import { formatGoDuration, parseGoDuration } from './duration.js';

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['300ms', 300],
    ['1.5s', 1500],
    ['1h30m', 5_400_000],
    ['2h45m10.5s', 9_910_500],
    ['-1m', -60_000],
    ['500us', 0.5],
    ['1000ns', 0.001],
    ['24h', 86_400_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', '5', 'h', '1x', '1h 30m', '1.2.3s'])('rejects %j naming the text', (text) => {
    expect(() => parseGoDuration(text)).toThrow(`invalid duration "${text}"`);
  });
});

describe('formatGoDuration', () => {
  it.each([
    [0, '0s'],
    [300, '300ms'],
    [1500, '1.5s'],
    [90_000, '1m30s'],
    [3_600_000, '1h0m0s'],
    [-2000, '-2s'],
  ])('prints %d ms as %s', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });
});
