/**
 * Token bucket: `ratePerS` tokens per second, at most `burst` saved up. Refilled lazily on take,
 * so an idle connection costs no timer.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes one token; returns 0 when allowed, else ms until a token is available. */
  take(now = Date.now()): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerS) / 1000);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerS);
  }
}

/** Counts strikes in a sliding window of `windowMs`; `hit` returns true when the limit is reached. */
export class StrikeCounter {
  private count = 0;
  private windowStart = 0;
  constructor(
    private readonly limit: number,
    private readonly windowMs = 10_000,
  ) {}
  hit(now = Date.now()): boolean {
    if (now - this.windowStart > this.windowMs) {
      this.windowStart = now;
      this.count = 0;
    }
    this.count += 1;
    return this.count >= this.limit;
  }
}
