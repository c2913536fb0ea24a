/**
 * Token buckets by key (a username's class, a source address), in this process's memory.
 * `burst` attempts at once, refilled evenly over `windowMs`. Bounded: at most `maxKeys` buckets;
 * full buckets are the ones forgotten first (they hold nothing), then the oldest.
 *
 * Per node: behind a load balancer that spreads one client over N gateways, the allowance is N×
 * (a Redis-backed bucket would make it cluster-wide; HAProxy's `balance leastconn` keeps most of
 * one client's logins on one node anyway). Documented in README ("Login throttling").
 */
export class LoginThrottle {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly refillPerMs: number;

  constructor(
    private readonly burst: number,
    windowMs: number,
    private readonly maxKeys = 100_000,
  ) {
    this.refillPerMs = burst / windowMs;
  }

  /** Milliseconds until `key` has an attempt left (0: now). */
  peek(key: string, now = Date.now()): number {
    const b = this.refill(key, now);
    return b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) / this.refillPerMs);
  }

  take(key: string, now = Date.now()): void {
    this.refill(key, now).tokens -= 1;
  }

  /** Returns an attempt (a success does not count against the allowance). */
  give(key: string, now = Date.now()): void {
    const b = this.refill(key, now);
    b.tokens = Math.min(this.burst, b.tokens + 1);
    if (b.tokens >= this.burst) this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }

  private refill(key: string, now: number): { tokens: number; at: number } {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.evict(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
      return b;
    }
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.refillPerMs);
    b.at = now;
    return b;
  }

  private evict(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.refillPerMs >= this.burst) this.buckets.delete(k);
    }
    // Still full: drop the oldest tenth (Map order is insertion order).
    let n = this.buckets.size >= this.maxKeys ? Math.ceil(this.maxKeys / 10) : 0;
    for (const k of this.buckets.keys()) {
      if (n-- <= 0) break;
      this.buckets.delete(k);
    }
  }
}
