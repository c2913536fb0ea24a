import { describe, expect, it } from 'vitest';
import { backoffDelay, shouldReconnect } from './backoff.js';

describe('backoff', () => {
  const opts = { minMs: 100, maxMs: 10_000 };

  it('grows exponentially up to the cap, with full jitter from 0', () => {
    expect(backoffDelay(0, opts, () => 0.999)).toBe(99);
    expect(backoffDelay(3, opts, () => 0.999)).toBe(799);
    expect(backoffDelay(20, opts, () => 0.999)).toBe(9990);
    expect(backoffDelay(1000, opts, () => 0.999)).toBe(9990);
    expect(backoffDelay(5, opts, () => 0)).toBe(0);
  });

  it('stays within [0, cap] for random draws', () => {
    for (let a = 0; a < 40; a++) {
      const d = backoffDelay(a, opts);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(Math.min(10_000, 100 * 2 ** a));
    }
  });

  it('does not reconnect on 4000–4099, does on 4100–4199 and transport closes', () => {
    for (const code of [4000, 4001, 4002, 4008, 4010, 4099]) expect(shouldReconnect(code)).toBe(false);
    for (const code of [1000, 1001, 1006, 1011, 4100, 4101, 4102, 4199]) expect(shouldReconnect(code)).toBe(true);
  });
});
