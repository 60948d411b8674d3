import { retryAt } from './engine.js';

const tick = 1_000_000_000_000n * 1_000_000n; // ns

describe('retryAt (failure policies)', () => {
  const tickMs = Number(tick / 1_000_000n);

  it('retries a constant policy at tick + interval × attempt while retries remain', () => {
    const policy = { constant: { interval: { seconds: '1', nanos: 500_000_000 }, maxRetries: 2 } };
    expect(retryAt(tick, policy, 1)).toBe(tickMs + 1500);
    expect(retryAt(tick, policy, 2)).toBe(tickMs + 3000);
    expect(retryAt(tick, policy, 3)).toBeUndefined();
  });

  it('retries without end when max_retries is unset, and never for drop', () => {
    expect(retryAt(tick, { constant: { interval: { seconds: '2' } } }, 50)).toBe(tickMs + 100_000);
    expect(retryAt(tick, { drop: {} }, 1)).toBeUndefined();
    expect(retryAt(tick, { constant: { interval: { seconds: '1' }, maxRetries: 3 } }, 0)).toBeUndefined();
  });
});
