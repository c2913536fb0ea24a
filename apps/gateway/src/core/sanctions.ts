import type { ModerationStore, Sanction, Standing } from '../ports/moderation-store.js';

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
 *
 * The send fence (infra/migrations/011_send_fence.sql): a send is committed only if no kick, mute
 * or ban landed in its channel after what its check read. Each channel keeps the lowest
 * restriction generation among its cached reads (`gen`, what sends are fenced with: conservative),
 * and the highest any read has seen; a read older than that highest one may be a cache's stale
 * answer (a Redis entry filled before the change), so it is taken again from the record. When
 * the fence refuses a send (a change whose control message has not arrived), `recheck` drops the
 * channel's entries and reads the sender from the record: after each kick, mute or ban, a node
 * takes at most one refused commit per channel and one record read per sender it then sees.
 */
export class SanctionCache {
  /** cid → userId → the expiry (whole seconds after `base`) if the user has no sanctions there, else a Found. */
  private readonly entries = new Map<number, Map<number, number | Found>>();
  /** cid → the lowest restriction generation among that channel's cached reads. */
  private readonly floors = new Map<number, number>();
  /** cid → the highest restriction generation any read of that channel has returned. */
  private readonly seen = new Map<number, number>();
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

  async active(cid: number, userId: number): Promise<Standing> {
    const now = this.now();
    const hit = this.entries.get(cid)?.get(userId);
    if (hit !== undefined && this.expiry(hit) > now) {
      const sanctions = typeof hit === 'number' ? [] : hit.sanctions.filter((s) => s.until === null || s.until > now);
      return { sanctions, gen: this.gen(cid) };
    }
    const epoch = this.epoch;
    let read = await this.store.active(cid, userId, now);
    // Older than a read already seen: perhaps a cache's answer from before a change. The record's.
    if (read.gen < (this.seen.get(cid) ?? 0)) read = await this.store.standing(cid, userId, now);
    this.remember(cid, userId, read, now, epoch);
    return read;
  }

  /**
   * The fence refused a send of `userId` in `cid`: a kick, mute or ban landed there that this node
   * has not heard of. Drops the channel's entries (their floor is stale) and reads the sender's
   * standing from the record.
   */
  async recheck(cid: number, userId: number): Promise<Standing & { member: boolean }> {
    this.epoch += 1;
    this.entries.delete(cid);
    this.floors.delete(cid);
    const epoch = this.epoch;
    const now = this.now();
    const read = await this.store.standing(cid, userId, now);
    this.remember(cid, userId, read, now, epoch);
    return read;
  }

  /** What sends in `cid` checked against this cache are fenced with. */
  gen(cid: number): number {
    return this.floors.get(cid) ?? 0;
  }

  private remember(cid: number, userId: number, read: Standing, now: number, epoch: number): void {
    if (read.gen > (this.seen.get(cid) ?? -1)) this.seen.set(cid, read.gen);
    if (epoch !== this.epoch) return;
    let expires = now + TTL_MS;
    for (const s of read.sanctions) if (s.until !== null) expires = Math.min(expires, s.until);
    if (++this.inserts >= this.sweepAfter) this.sweep(now);
    let users = this.entries.get(cid);
    if (!users) this.entries.set(cid, (users = new Map()));
    const floor = this.floors.get(cid);
    if (floor === undefined || read.gen < floor) this.floors.set(cid, read.gen);
    // Rounded down: a "none" entry lapses up to a second early, never late. The rows are copied:
    // a driver's result object carries more than the rows.
    users.set(userId, read.sanctions.length ? { sanctions: [...read.sanctions], expires } : Math.floor((expires - this.base) / 1000));
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
    return (await this.active(cid, userId)).sanctions.find((s) => s.kind === kind);
  }

  /** After a broker outage control messages may have been missed: forget everything. */
  clear(): void {
    this.epoch += 1;
    this.entries.clear();
    this.floors.clear();
    this.seen.clear();
  }

  invalidate(cid: number, userId: number): void {
    this.epoch += 1;
    const users = this.entries.get(cid);
    if (users?.delete(userId) && users.size === 0) this.forget(cid);
  }

  /** A deleted channel: its sanctions went with it. */
  invalidateChannel(cid: number): void {
    this.epoch += 1;
    this.forget(cid);
  }

  private forget(cid: number): void {
    this.entries.delete(cid);
    this.floors.delete(cid);
    this.seen.delete(cid);
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
      if (users.size === 0) this.forget(cid);
    }
    if (live >= MAX_ENTRIES) {
      this.entries.clear();
      this.floors.clear();
      this.seen.clear();
      live = 0;
    }
    this.inserts = 0;
    this.sweepAfter = Math.max(1024, live);
  }
}
