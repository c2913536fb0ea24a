import type { ModerationStore, Sanction } from '../ports/moderation-store.js';

const TTL_MS = 30_000;
const MAX_ENTRIES = 100_000;

/** An entry with sanctions (rare); `expires` in ms. */
interface Found {
  sanctions: Sanction[];
  expires: number;
}

/**
 * Read-through cache of mutes/bans, checked on every send and join. Entries live at most 30 s and
 * never past the earliest sanction's end, so expiry is on time without anyone acting; other nodes'
 * changes arrive as control messages and `invalidate` (well within 1 s).
 *
 * Every join leaves an entry (its ban check), so every idle member holds one for up to 30 s:
 * the usual entry, "no sanctions", is a small integer in a per-channel map (no key string, no
 * object, no array: ~30 bytes instead of ~250), and expired entries are swept after as many
 * inserts as there were live entries at the last sweep, so nobody keeps one for good.
 */
export class SanctionCache {
  /** cid → userId → the expiry (whole seconds after `base`) if the user has no sanctions there, else a Found. */
  private readonly entries = new Map<number, Map<number, number | Found>>();
  private readonly base: number;
  private inserts = 0;
  private sweepAfter = 1024;
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
  ) {
    this.base = now();
  }

  async active(cid: number, userId: number): Promise<Sanction[]> {
    const now = this.now();
    const hit = this.entries.get(cid)?.get(userId);
    if (hit !== undefined && this.expiry(hit) > now) {
      return typeof hit === 'number' ? [] : hit.sanctions.filter((s) => s.until === null || s.until > now);
    }
    const epoch = this.epoch;
    const sanctions = await this.store.active(cid, userId, now);
    if (epoch !== this.epoch) return sanctions;
    let expires = now + TTL_MS;
    for (const s of sanctions) if (s.until !== null) expires = Math.min(expires, s.until);
    if (++this.inserts >= this.sweepAfter) this.sweep(now);
    let users = this.entries.get(cid);
    if (!users) this.entries.set(cid, (users = new Map()));
    // Rounded down: a "none" entry lapses up to a second early, never late. The rows are copied:
    // a driver's result object carries more than the rows.
    users.set(userId, sanctions.length ? { sanctions: [...sanctions], expires } : Math.floor((expires - this.base) / 1000));
    return sanctions;
  }

  /**
   * The cached answer without waiting: the sanction of `kind` (undefined: none), or null when the
   * cache holds no fresh entry (then `find`). The send path's check, without a promise per message.
   */
  cached(cid: number, userId: number, kind: 'mute' | 'ban'): Sanction | undefined | null {
    const hit = this.entries.get(cid)?.get(userId);
    const now = this.now();
    if (hit === undefined || this.expiry(hit) <= now) return null;
    if (typeof hit === 'number') return undefined;
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
    this.entries.get(cid)?.delete(userId);
  }

  /** A deleted channel: its sanctions went with it. */
  invalidateChannel(cid: number): void {
    this.epoch += 1;
    this.entries.delete(cid);
  }

  private expiry(e: number | Found): number {
    return typeof e === 'number' ? this.base + e * 1000 : e.expires;
  }

  /** Drops expired entries (and, past MAX_ENTRIES live ones, all). */
  private sweep(now: number): void {
    let live = 0;
    for (const [cid, users] of this.entries) {
      for (const [uid, e] of users) {
        if (this.expiry(e) <= now) users.delete(uid);
        else live += 1;
      }
      if (users.size === 0) this.entries.delete(cid);
    }
    if (live >= MAX_ENTRIES) {
      this.entries.clear();
      live = 0;
    }
    this.inserts = 0;
    this.sweepAfter = Math.max(1024, live);
  }
}
