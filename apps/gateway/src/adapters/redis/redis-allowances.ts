import { readFileSync } from 'node:fs';
import { gatewayFile } from '../../paths.js';
import type { AllowanceKind, AllowanceStore } from '../../ports/allowances.js';
import { MemoryAllowances } from '../memory/memory-allowances.js';
import type { RedisClient } from './connect.js';
import type { RedisKeys } from './keys.js';

const SCRIPT = 'parleyAllowance';
const LOST = new Set(['reconnecting', 'close', 'end']);
type WithScript = { [SCRIPT]: (key: string, burst: number, windowMs: number, op: 'take' | 'give') => Promise<number> };

/**
 * Allowances shared by every node on one Redis: a token bucket per key (`{a:<kind>:<key>}`, a
 * hash that expires once it would be full again), taken and given back by one script on the Redis
 * server clock, so nodes agree whatever their own clocks say and a take is atomic.
 *
 * While Redis does not answer (or its connection is down), each node falls back to its own buckets in memory (per node, as
 * before Redis; `onError` hears why): logins and sign-ups keep working through a Redis outage and
 * stay throttled. What the fallback counted is not carried over to Redis afterwards.
 */
export class RedisAllowances implements AllowanceStore {
  private readonly redis: RedisClient & WithScript;

  constructor(
    redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly fallback: AllowanceStore = new MemoryAllowances(),
  ) {
    const r = redis as RedisClient & Partial<WithScript>;
    if (typeof r[SCRIPT] !== 'function') {
      redis.defineCommand(SCRIPT, {
        numberOfKeys: 1,
        lua: readFileSync(gatewayFile('src', 'adapters', 'redis', 'lua', 'allowance.lua'), 'utf8'),
      });
    }
    this.redis = r as RedisClient & WithScript;
  }

  async take(kind: AllowanceKind, key: string): Promise<number> {
    if (!this.answering()) return this.fallback.take(kind, key);
    try {
      return Number(await this.redis[SCRIPT](this.keys.allowance(kind.name, key), kind.burst, kind.windowMs, 'take'));
    } catch (err) {
      this.onError(err);
      return this.fallback.take(kind, key);
    }
  }

  async give(kind: AllowanceKind, key: string): Promise<void> {
    if (!this.answering()) return this.fallback.give(kind, key);
    try {
      await this.redis[SCRIPT](this.keys.allowance(kind.name, key), kind.burst, kind.windowMs, 'give');
    } catch (err) {
      this.onError(err);
      await this.fallback.give(kind, key);
    }
  }

  /**
   * A connection that was lost goes to the fallback at once: a command would wait in the offline
   * queue through reconnect attempts (connect.ts), and a login should not wait for Redis's return.
   * (One still opening, at start, is waited for.)
   */
  private answering(): boolean {
    if (!LOST.has(this.redis.status)) return true;
    this.onError(new Error(`Redis connection ${this.redis.status}`));
    return false;
  }
}
