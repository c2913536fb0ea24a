import { describe, expect, it } from 'vitest';
import { RequestBudget, StallClock } from '../src/core/budget.js';
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

describe('TokenBucket after a server stall', () => {
  it('lets the frames a client sent during a stall through, on top of its burst', () => {
    const b = new TokenBucket(10, 3, 0);
    // The node did not read for 5 s; the client sent its 10/s meanwhile: 50 frames in one tick.
    const withCredit = Array.from({ length: 50 }, () => b.take(5000, 5000));
    expect(withCredit.every((w) => w === 0)).toBe(true);
    const without = new TokenBucket(10, 3, 0);
    expect(Array.from({ length: 50 }, () => without.take(5000)).filter((w) => w > 0)).toHaveLength(47);
  });
});

describe('StallClock', () => {
  it('credits frames read in a stall’s backlog and for as long after it as it lasted', () => {
    let now = 0;
    const clock = new StallClock(50, 250, () => now);
    for (now = 50; now <= 500; now += 50) clock.turn();
    expect(clock.creditMs()).toBe(0);
    now = 3500; // the loop stalled for ~3 s: a frame read now is read in the backlog
    expect(clock.creditMs()).toBe(2950);
    clock.turn(); // the timer runs once the backlog is read
    for (now = 3550; now <= 5000; now += 50) clock.turn();
    expect(clock.creditMs()).toBe(2950);
    for (; now <= 7000; now += 50) clock.turn();
    expect(clock.creditMs()).toBe(0);
  });

  it('records how late each turn came, for /metrics', () => {
    let now = 0;
    const clock = new StallClock(50, 250, () => now);
    for (now = 50; now <= 500; now += 50) clock.turn(); // on time: recorded as 1 µs (the least it takes)
    now = 580;
    clock.turn(); // 30 ms late
    expect(clock.delays.count).toBe(11);
    expect(clock.delays.percentile(50)).toBe(1);
    expect(clock.delays.max).toBeGreaterThanOrEqual(30_000);
    expect(clock.delays.max).toBeLessThan(30_100);
  });
});

describe('RequestBudget', () => {
  it('caps costly requests per connection and per node, refusing with a jittered retry-after', () => {
    const budget = new RequestBudget(3, 2, () => 0.5);
    const a = { costly: 0 };
    const b = { costly: 0 };
    expect([budget.take(a), budget.take(a)]).toEqual([null, null]);
    expect(budget.take(a)).toBe(150); // this connection's share is in flight
    expect(budget.take(b)).toBeNull();
    expect(budget.take(b)).toBe(375); // the node's budget is spent
    budget.release(a);
    expect(budget.take(b)).toBeNull();
    expect(budget.used).toBe(3);
    expect(b.costly).toBe(2);
  });
});
