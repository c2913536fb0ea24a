/** A wait as people read it in the page's error line: "45 s", "3 min". */
export const waitText = (s: number): string => (s < 90 ? `${s} s` : `${Math.ceil(s / 60)} min`);

/**
 * The token-bucket arithmetic every bucket here shares (per connection below; per key in
 * adapters/memory/memory-allowances.ts): `tokens` after `elapsedMs` at `perMs`, at most `cap`.
 */
export const refilled = (tokens: number, elapsedMs: number, perMs: number, cap: number): number =>
  Math.min(cap, tokens + elapsedMs * perMs);
/** ms until a bucket holding `tokens` (< 1) has one, at `perMs`. */
export const msUntilToken = (tokens: number, perMs: number): number => Math.ceil((1 - tokens) / perMs);

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

  /**
   * Takes one token; returns 0 when allowed, else ms until a token is available. `creditMs`: a
   * server stall of that long just ended (StallClock), so the bucket may hold what the client was
   * entitled to send during it on top of its burst.
   */
  take(now = Date.now(), creditMs = 0): number {
    const perMs = this.ratePerS / 1000;
    this.tokens = refilled(this.tokens, now - this.last, perMs, this.burst + creditMs * perMs);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return msUntilToken(this.tokens, perMs);
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

/** The per-connection limits (PARLEY_RATE_PER_S, _RATE_BURST, _RATE_STRIKES, _BAD_FRAME_STRIKES). */
export interface FramePolicy {
  ratePerS: number;
  rateBurst: number;
  rateStrikes: number;
  badFrameStrikes: number;
}

/**
 * One connection's frame limits: a token bucket (the object itself: one allocation, not two), and
 * strike counters for refused and malformed frames. A connection gets one on its first frame and
 * a strike counter on its first strike, so an idle connection holds none of it (a fresh bucket is
 * full and a fresh counter empty, exactly as if they had been created at connect time).
 */
export class FrameLimits extends TokenBucket {
  private rateStrikes: StrikeCounter | undefined;
  private badFrames: StrikeCounter | undefined;

  constructor(
    private readonly policy: FramePolicy,
    now = Date.now(),
  ) {
    super(policy.ratePerS, policy.rateBurst, now);
  }

  /** A frame refused by the bucket; true when too many were refused within the window. */
  rateStrike(now = Date.now()): boolean {
    this.rateStrikes ??= new StrikeCounter(this.policy.rateStrikes);
    return this.rateStrikes.hit(now);
  }

  /** A malformed frame; true when too many arrived within the window. */
  badFrame(now = Date.now()): boolean {
    this.badFrames ??= new StrikeCounter(this.policy.badFrameStrikes);
    return this.badFrames.hit(now);
  }
}
