import type { PresenceEntry } from '@parley/protocol';
import type { LeaseState, PresenceConn, PresencePage, PresenceStore, Release } from '../../ports/presence-store.js';

/** How long a reaped owner is remembered (its `heartbeat` answers `reaped` within this time). */
const REAPED_MEMORY_MS = 24 * 3600_000;

/**
 * A user's connections in one channel: the conn itself while there is one (almost always), a Map
 * by connId from the second on. A single node keeps every (channel, user) here, so a Map for each
 * would cost ~190 bytes per joined channel per user.
 */
type UserConns = PresenceConn | Map<string, PresenceConn>;

const connsOf = (u: UserConns): Iterable<PresenceConn> => (u instanceof Map ? u.values() : [u]);

/** In-process presence, shareable by several nodes in one process (tests). */
export class MemoryPresenceStore implements PresenceStore {
  /** cid → user → its conns there */
  private readonly channels = new Map<number, Map<string, UserConns>>();
  /** cid → user → typing expiry (ms) */
  private readonly typers = new Map<number, Map<string, number>>();
  private readonly leases = new Map<string, number>();
  /** owner → when it was reaped */
  private readonly reaped = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async add(cid: number, conn: PresenceConn): Promise<boolean> {
    let users = this.channels.get(cid);
    if (!users) this.channels.set(cid, (users = new Map()));
    const cur = users.get(conn.user);
    if (cur === undefined || (!(cur instanceof Map) && cur.connId === conn.connId)) users.set(conn.user, conn);
    else if (cur instanceof Map) cur.set(conn.connId, conn);
    else
      users.set(
        conn.user,
        new Map([
          [cur.connId, cur],
          [conn.connId, conn],
        ]),
      );
    return cur === undefined;
  }

  async join(cid: number, conn: PresenceConn, max = Number.POSITIVE_INFINITY): Promise<{ first: boolean } & PresencePage> {
    const first = await this.add(cid, conn);
    return { first, ...(await this.page(cid, max)) };
  }

  async remove(cid: number, conn: PresenceConn): Promise<boolean> {
    return (await this.release(cid, conn)) === 'last';
  }

  async release(cid: number, conn: PresenceConn): Promise<Release> {
    const users = this.channels.get(cid);
    const cur = users?.get(conn.user);
    if (!users || cur === undefined) return 'missing';
    if (cur instanceof Map) {
      if (!cur.delete(conn.connId)) return 'missing';
      if (cur.size > 1) return 'more';
      for (const last of cur.values()) users.set(conn.user, last);
      return 'more';
    }
    if (cur.connId !== conn.connId) return 'missing';
    users.delete(conn.user);
    if (users.size === 0) this.channels.delete(cid);
    return 'last';
  }

  async reassert(cid: number, conns: readonly PresenceConn[]): Promise<{ restored: string[]; joined: PresenceEntry[] }> {
    const restored: string[] = [];
    const joined: PresenceEntry[] = [];
    for (const conn of conns) {
      const present = this.channels.get(cid)?.get(conn.user);
      if (present !== undefined && (present instanceof Map ? present.has(conn.connId) : present.connId === conn.connId)) continue;
      if (await this.add(cid, conn)) joined.push({ user: conn.user, guest: conn.guest });
      restored.push(conn.connId);
    }
    return { restored, joined };
  }

  async list(cid: number): Promise<PresenceEntry[]> {
    return (await this.page(cid, Number.POSITIVE_INFINITY)).members;
  }

  async page(cid: number, max: number): Promise<PresencePage> {
    const users = this.channels.get(cid);
    if (!users) return { members: [], online: 0 };
    const members: PresenceEntry[] = [];
    for (const [user, conns] of users) {
      if (members.length >= max) break;
      const first = conns instanceof Map ? conns.values().next().value : conns;
      members.push({ user, guest: first?.guest ?? false });
    }
    return { members, online: users.size };
  }

  async online(cid: number, users: readonly string[]): Promise<boolean[]> {
    const here = this.channels.get(cid);
    return users.map((u) => here?.has(u) ?? false);
  }

  async setTyping(cid: number, user: string, ttlMs: number): Promise<string[]> {
    let t = this.typers.get(cid);
    if (!t) this.typers.set(cid, (t = new Map()));
    t.set(user, this.now() + ttlMs);
    return this.typing(cid);
  }

  async clearTyping(cid: number, user: string): Promise<string[]> {
    this.typers.get(cid)?.delete(user);
    return this.typing(cid);
  }

  async typing(cid: number): Promise<string[]> {
    const t = this.typers.get(cid);
    if (!t) return [];
    const now = this.now();
    const out: string[] = [];
    for (const [user, until] of t) {
      if (until > now) out.push(user);
      else t.delete(user);
    }
    if (t.size === 0) this.typers.delete(cid);
    return out;
  }

  async heartbeat(owner: string, ttlMs: number): Promise<LeaseState> {
    const held = this.leases.has(owner);
    this.leases.set(owner, this.now() + ttlMs);
    if (held) return 'held';
    return this.reaped.delete(owner) ? 'reaped' : 'new';
  }

  async owners(): Promise<string[]> {
    return [...this.leases.keys()];
  }

  async deadNodes(): Promise<string[]> {
    const now = this.now();
    return [...this.leases].filter(([, until]) => until <= now).map(([id]) => id);
  }

  async reapNode(owner: string): Promise<{ cid: number; user: string }[]> {
    const leaves: { cid: number; user: string }[] = [];
    for (const [cid, users] of this.channels) {
      for (const [user, conns] of users) {
        const all = [...connsOf(conns)];
        const kept = all.filter((c) => c.nodeId !== owner);
        if (kept.length === all.length) continue;
        if (kept.length === 0) {
          users.delete(user);
          leaves.push({ cid, user });
        } else if (kept.length === 1) users.set(user, kept[0] as PresenceConn);
        else users.set(user, new Map(kept.map((c) => [c.connId, c])));
      }
      if (users.size === 0) this.channels.delete(cid);
    }
    const now = this.now();
    if (this.leases.delete(owner)) this.reaped.set(owner, now);
    for (const [o, at] of this.reaped) if (now - at > REAPED_MEMORY_MS) this.reaped.delete(o);
    return leaves;
  }

  async close(): Promise<void> {}
}
