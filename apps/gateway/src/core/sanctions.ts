import type { ModerationStore, Sanction } from '../ports/moderation-store.js';

const TTL_MS = 30_000;
const MAX_ENTRIES = 100_000;

/**
 * Read-through cache of mutes/bans, checked on every send and join. Entries live at most 30 s and
 * never past the earliest sanction's end, so expiry is on time without anyone acting; other nodes'
 * changes arrive as control messages and `invalidate` (well within 1 s).
 */
export class SanctionCache {
  private readonly entries = new Map<string, { sanctions: Sanction[]; expires: number }>();
  /**
   * Bumped by every invalidation. A read that was in flight when one arrived is returned but not
   * cached: it may have read the record just before the change it would otherwise outlive.
   */
  private epoch = 0;

  /** Changes whenever any sanction may have changed (an invalidation or a clear). */
  get version(): number {
    return this.epoch;
  }

  constructor(
    private readonly store: ModerationStore,
    private readonly now: () => number = Date.now,
  ) {}

  async active(cid: number, userId: number): Promise<Sanction[]> {
    const key = `${cid}:${userId}`;
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) return hit.sanctions.filter((s) => s.until === null || s.until > now);
    const epoch = this.epoch;
    const sanctions = await this.store.active(cid, userId, now);
    if (epoch !== this.epoch) return sanctions;
    let expires = now + TTL_MS;
    for (const s of sanctions) if (s.until !== null) expires = Math.min(expires, s.until);
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { sanctions, expires });
    return sanctions;
  }

  /**
   * The cached answer without waiting: the sanction of `kind` (undefined: none), or null when the
   * cache holds no fresh entry (then `find`). The send path's check, without a promise per message.
   */
  cached(cid: number, userId: number, kind: 'mute' | 'ban'): Sanction | undefined | null {
    const hit = this.entries.get(`${cid}:${userId}`);
    const now = this.now();
    if (!hit || hit.expires <= now) return null;
    for (const s of hit.sanctions) if (s.kind === kind && (s.until === null || s.until > now)) return s;
    return undefined;
  }

  async find(cid: number, userId: number, kind: 'mute' | 'ban'): Promise<Sanction | undefined> {
    return (await this.active(cid, userId)).find((s) => s.kind === kind);
  }

  /** After a broker outage control messages may have been missed: forget everything. */
  clear(): void {
    this.epoch += 1;
    this.entries.clear();
  }

  invalidate(cid: number, userId: number): void {
    this.epoch += 1;
    this.entries.delete(`${cid}:${userId}`);
  }

  /** A deleted channel: its sanctions went with it (rare: a scan is fine). */
  invalidateChannel(cid: number): void {
    this.epoch += 1;
    const prefix = `${cid}:`;
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}
