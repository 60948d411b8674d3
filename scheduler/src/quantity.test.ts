import { parseQuantity } from './quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['9.2E', 9.2e18],
    ['2Gi', 2 * 2 ** 30],
    ['8G', 8e9],
    ['1024', 1024],
    ['1e9', 1e9],
    ['.5Ki', 512],
  ])('reads %s', (text, bytes) => {
    expect(Math.abs(parseQuantity(text) - bytes) / bytes).toBeLessThan(1e-12);
  });

  it.each(['', 'abc', '1.2.3', '5GB', '-1Gi'])('refuses %j', (text) => {
    expect(() => parseQuantity(text)).toThrow();
  });
});
