import { msUntilToken, refilled } from '../../core/rate-limit.js';
import type { AllowanceKind, AllowanceStore } from '../../ports/allowances.js';

/**
 * Token buckets by key in this process's memory: `burst` attempts at once, refilled evenly over
 * `windowMs`. Bounded: at most `maxKeys` buckets; full buckets are the ones forgotten first (they
 * hold nothing), then the oldest.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly refillPerMs: number;

  constructor(
    private readonly burst: number,
    windowMs: number,
    private readonly maxKeys = 100_000,
  ) {
    this.refillPerMs = burst / windowMs;
  }

  /** Takes one attempt: 0 when taken, else the ms until `key` has one (nothing taken). */
  take(key: string, now = Date.now()): number {
    const b = this.refill(key, now);
    if (b.tokens < 1) return msUntilToken(b.tokens, this.refillPerMs);
    b.tokens -= 1;
    return 0;
  }

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
    b.tokens = refilled(b.tokens, now - b.at, this.refillPerMs, this.burst);
    b.at = now;
    return b;
  }

  private evict(now: number): void {
    for (const [k, b] of this.buckets) {
      if (refilled(b.tokens, now - b.at, this.refillPerMs, this.burst) >= this.burst) this.buckets.delete(k);
    }
    // Still full: drop the oldest tenth (Map order is insertion order).
    let n = this.buckets.size >= this.maxKeys ? Math.ceil(this.maxKeys / 10) : 0;
    for (const k of this.buckets.keys()) {
      if (n-- <= 0) break;
      this.buckets.delete(k);
    }
  }
}

/**
 * Allowances in this process's memory: one node's (embedded mode, or a Redis adapter's fallback
 * while Redis is unreachable). At most `maxKeys` buckets per kind.
 */
export class MemoryAllowances implements AllowanceStore {
  private readonly kinds = new Map<string, TokenBuckets>();

  constructor(private readonly maxKeys = 100_000) {}

  async take(kind: AllowanceKind, key: string): Promise<number> {
    return this.buckets(kind).take(key);
  }

  async give(kind: AllowanceKind, key: string): Promise<void> {
    this.buckets(kind).give(key);
  }

  private buckets(kind: AllowanceKind): TokenBuckets {
    let b = this.kinds.get(kind.name);
    if (!b) this.kinds.set(kind.name, (b = new TokenBuckets(kind.burst, kind.windowMs, this.maxKeys)));
    return b;
  }
}
