import { describe, expect, it } from 'vitest';
import { FrameLimits, StrikeCounter, TokenBucket } from '../src/core/rate-limit.js';

const policy = { ratePerS: 10, rateBurst: 3, rateStrikes: 2, badFrameStrikes: 3 };

describe('TokenBucket', () => {
  it('allows the burst, then one token per 1/rate s', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0]);
    expect(b.take(0)).toBe(100);
    expect(b.take(100)).toBe(0);
    expect(b.take(100_000)).toBe(0); // refills up to the burst only
    expect([b.take(100_000), b.take(100_000), b.take(100_000)]).toEqual([0, 0, 100]);
  });
});

describe('StrikeCounter', () => {
  it('reaches the limit within the window, and starts over after it', () => {
    const s = new StrikeCounter(3, 1000);
    expect([s.hit(5000), s.hit(5100), s.hit(5200)]).toEqual([false, false, true]);
    expect(s.hit(6300)).toBe(false);
  });
});

describe('FrameLimits', () => {
  it('created at the first frame, limits exactly like limiters created at connect time', () => {
    const lazy = new FrameLimits(policy, 0);
    const bucket = new TokenBucket(policy.ratePerS, policy.rateBurst, -60_000); // "connected" a minute earlier
    for (const t of [0, 0, 0, 0, 50, 100, 100, 400]) expect(lazy.take(t)).toBe(bucket.take(t));
  });

  it('counts refused and malformed frames separately, each against its own limit', () => {
    const l = new FrameLimits(policy, 0);
    expect([l.rateStrike(0), l.badFrame(0), l.badFrame(0)]).toEqual([false, false, false]);
    expect(l.rateStrike(0)).toBe(true);
    expect(l.badFrame(0)).toBe(true);
    expect(l.rateStrike(20_000)).toBe(false); // a new window
  });
});
