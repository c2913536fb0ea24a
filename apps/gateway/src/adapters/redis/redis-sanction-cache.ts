import type { AuditEntry, ModContext, ModerationStore, ModInput, Sanction, Standing } from '../../ports/moderation-store.js';
import type { RedisClient } from './connect.js';
import type { RedisKeys } from './keys.js';

const MAX_TTL_MS = 30_000;
/** Written over a user's entry when their sanctions change: "read the record", never parsed. */
const CHANGED = '!';
/** The actions that change a user's sanctions (the others change memberships or roles). */
const SANCTION_KINDS = new Set(['mute', 'ban', 'unmute', 'unban']);

/**
 * A ModerationStore that caches each user's active mutes/bans per channel in Redis (a key with a
 * PX no longer than 30 s and never past the earliest sanction's end), in front of the record in
 * Postgres. Every node reads the same cache, so a node that just started (or dropped its own
 * cache after a broker outage) does not go to Postgres for every sender. Redis failures fall
 * through to Postgres.
 *
 * A change writes Postgres first, then replaces the entry with a CHANGED marker for the longest
 * TTL, and readers fill only an absent entry (SET NX): a reader that read Postgres just before
 * the change cannot store that stale answer after it (a DEL would let it, for up to 30 s). Until
 * the marker lapses that user's sanctions in that channel are read from Postgres. A failed write
 * of the marker is bounded by the TTL.
 *
 * An entry is `[gen, ...sanctions]`: the read's restriction generation first, so the send fence
 * still catches an entry read before a change (a previous release wrote `[...sanctions]`: read
 * as generation 0, which the fence sends back to the record; and it skips the number).
 */
export class RedisSanctionCache implements ModerationStore {
  constructor(
    private readonly inner: ModerationStore,
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  async active(cid: number, userId: number, now: number): Promise<Standing> {
    const key = this.keys.sanctions(cid, userId);
    const cached = await this.redis.get(key).catch((err) => {
      this.onError(err);
      return null;
    });
    if (cached !== null && cached !== CHANGED) {
      const entry = JSON.parse(cached) as (number | Sanction)[];
      const gen = typeof entry[0] === 'number' ? entry[0] : 0;
      const sanctions = entry.filter((s): s is Sanction => typeof s === 'object' && (s.until === null || s.until > now));
      return { gen, sanctions };
    }
    const standing = await this.inner.active(cid, userId, now);
    if (cached === CHANGED) return standing;
    let ttl = MAX_TTL_MS;
    for (const s of standing.sanctions) if (s.until !== null) ttl = Math.min(ttl, s.until - now);
    if (ttl > 0) {
      await this.redis.set(key, JSON.stringify([standing.gen, ...standing.sanctions]), 'PX', Math.ceil(ttl), 'NX').catch(this.onError);
    }
    return standing;
  }

  standing(cid: number, userId: number, now: number): Promise<Standing & { member: boolean }> {
    return this.inner.standing(cid, userId, now);
  }

  async act(input: ModInput, authorize: (ctx: ModContext) => void): Promise<{ changed: boolean }> {
    const result = await this.inner.act(input, authorize);
    if (SANCTION_KINDS.has(input.change.kind)) await this.forget(input.cid, input.targetId);
    return result;
  }

  /** The channel's entries go stale harmlessly: a deleted channel has no members to check. */
  deleteChannel(cid: number, actor: string): Promise<string | null> {
    return this.inner.deleteChannel(cid, actor);
  }

  auditLog(cid: number | null, limit: number, before: number | null = null): Promise<AuditEntry[]> {
    return this.inner.auditLog(cid, limit, before);
  }

  private async forget(cid: number, userId: number): Promise<void> {
    await this.redis.set(this.keys.sanctions(cid, userId), CHANGED, 'PX', MAX_TTL_MS).catch(this.onError);
  }
}
