import type { PresenceEntry } from '@parley/protocol';
import type { PresenceConn, PresenceStore } from '../../ports/presence-store.js';

/** In-process presence, shareable by several nodes in one process (tests). */
export class MemoryPresenceStore implements PresenceStore {
  /** cid → user → connId → conn */
  private readonly channels = new Map<number, Map<string, Map<string, PresenceConn>>>();
  /** cid → user → typing expiry (ms) */
  private readonly typers = new Map<number, Map<string, number>>();
  private readonly leases = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async add(cid: number, conn: PresenceConn): Promise<boolean> {
    let users = this.channels.get(cid);
    if (!users) this.channels.set(cid, (users = new Map()));
    let conns = users.get(conn.user);
    const first = !conns || conns.size === 0;
    if (!conns) users.set(conn.user, (conns = new Map()));
    conns.set(conn.connId, conn);
    return first;
  }

  async join(cid: number, conn: PresenceConn): Promise<{ first: boolean; members: PresenceEntry[] }> {
    const first = await this.add(cid, conn);
    return { first, members: await this.list(cid) };
  }

  async remove(cid: number, conn: PresenceConn): Promise<boolean> {
    const users = this.channels.get(cid);
    const conns = users?.get(conn.user);
    if (!users || !conns?.delete(conn.connId)) return false;
    if (conns.size > 0) return false;
    users.delete(conn.user);
    if (users.size === 0) this.channels.delete(cid);
    return true;
  }

  async list(cid: number): Promise<PresenceEntry[]> {
    const users = this.channels.get(cid);
    if (!users) return [];
    const out: PresenceEntry[] = [];
    for (const [user, conns] of users) {
      const first = conns.values().next().value as PresenceConn | undefined;
      out.push({ user, guest: first?.guest ?? false });
    }
    return out;
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

  async heartbeat(nodeId: string, ttlMs: number): Promise<void> {
    this.leases.set(nodeId, this.now() + ttlMs);
  }

  async deadNodes(): Promise<string[]> {
    const now = this.now();
    return [...this.leases].filter(([, until]) => until <= now).map(([id]) => id);
  }

  async reapNode(nodeId: string): Promise<{ cid: number; user: string }[]> {
    this.leases.delete(nodeId);
    const leaves: { cid: number; user: string }[] = [];
    for (const [cid, users] of this.channels) {
      for (const [user, conns] of users) {
        for (const [connId, c] of conns) if (c.nodeId === nodeId) conns.delete(connId);
        if (conns.size === 0) {
          users.delete(user);
          leaves.push({ cid, user });
        }
      }
      if (users.size === 0) this.channels.delete(cid);
    }
    return leaves;
  }

  async close(): Promise<void> {}
}
