import { readFileSync } from 'node:fs';
import type { PresenceEntry } from '@parley/protocol';
import { gatewayFile } from '../../paths.js';
import type { LeaseState, PresenceConn, PresencePage, PresenceStore, Release } from '../../ports/presence-store.js';
import type { RedisClient } from './connect.js';
import { RedisKeys } from './keys.js';

const lua = (name: string) => readFileSync(gatewayFile('src', 'adapters', 'redis', 'lua', `${name}.lua`), 'utf8');

/** A script: its Lua file, its number of KEYS, and a Lua file it starts with. */
interface ScriptSpec {
  file: string;
  keys: number;
  after?: string;
}
/** Scripts as ioredis commands (EVALSHA, EVAL on NOSCRIPT). */
const SCRIPTS = {
  parleyPresenceAdd: { file: 'presence-add', keys: 2, after: 'presence-sample' },
  parleyPresencePage: { file: 'presence-page', keys: 2, after: 'presence-sample' },
  parleyPresenceRemove: { file: 'presence-remove', keys: 2 },
  parleyPresenceReap: { file: 'presence-reap', keys: 2 },
  parleyPresenceAssert: { file: 'presence-assert', keys: 2 },
  parleyTyping: { file: 'typing', keys: 1 },
  parleyNodeHeartbeat: { file: 'node-heartbeat', keys: 2 },
  parleyNodeDead: { file: 'node-dead', keys: 1 },
  parleyNodeReaped: { file: 'node-reaped', keys: 2 },
} satisfies Record<string, ScriptSpec>;
type ScriptName = keyof typeof SCRIPTS;
type Scripts = Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;

/** A channel's users, once each, from its conns hash values ("owner|guest|user"). */
function members(values: readonly string[]): PresenceEntry[] {
  const users = new Map<string, boolean>();
  for (const v of values) {
    const bar = v.indexOf('|');
    const user = v.slice(bar + 3);
    if (!users.has(user)) users.set(user, v[bar + 1] === '1');
  }
  return [...users].map(([user, guest]) => ({ user, guest }));
}

/** A page size as the scripts take it: a whole number, 0 or more (Infinity: "all"). */
const asLimit = (max: number): number => (Number.isFinite(max) ? Math.max(0, Math.floor(max)) : 1_000_000_000);

/** Connections per reap (or re-assert) script call: keeps one script run short on a node with a huge channel. */
const REAP_CHUNK = 500;

/** How long a reaped owner is remembered (its `heartbeat` answers `reaped` within this time). */
const REAPED_MEMORY_MS = 24 * 3600_000;

const RELEASE: Record<number, Release> = { 1: 'last', 0: 'more', [-1]: 'missing' };
const LEASE: Record<number, LeaseState> = { 1: 'held', 0: 'new', [-1]: 'reaped' };

export interface RedisPresenceStoreOptions {
  /** Standalone or Cluster; the store does not close it (the composition root owns it). */
  redis: RedisClient;
  prefix: string;
}

/**
 * Presence and typing in Redis (layout in keys.ts):
 *
 * - per channel, under `{c:<cid>}`: `presence` HASH connId → "owner|guest|user" and
 *   `presence:users` HASH user → connection count. Join/leave are decided atomically in Lua
 *   (0→1 is a join, 1→0 a leave), so concurrent tabs on different nodes never race.
 * - per lease owner (one process lifetime of a node), under `{n:<owner>}`: SET of "cid|connId" the
 *   owner added, read by whoever reaps it. It lives in another slot than the channel keys, so it
 *   is written in its own command: added BEFORE the channel entry and removed AFTER it. A crash in
 *   between leaves at worst a stale set member (reaping it finds nothing), never a channel entry no
 *   reaper can find.
 * - `{nodes}:leases` ZSET owner → lease expiry on the Redis clock; `deadNodes` is one range read.
 *   `{nodes}:reaped` ZSET owner → when it was reaped, read (and cleared) by that owner's heartbeat.
 * - `{c:<cid>}:typing` ZSET user → expiry, pruned on every access, PEXPIREd with its newest entry.
 *
 * Works unchanged on Redis Cluster: every script touches keys of one hash tag only.
 * Lease owners (node ids) must not contain '|'.
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly scripts: Scripts;

  constructor(opts: RedisPresenceStoreOptions) {
    this.redis = opts.redis;
    this.keys = new RedisKeys(opts.prefix);
    const commands = this.redis as unknown as Partial<Scripts>;
    for (const [name, s] of Object.entries(SCRIPTS) as [ScriptName, ScriptSpec][]) {
      if (typeof commands[name] !== 'function') {
        this.redis.defineCommand(name, { numberOfKeys: s.keys, lua: (s.after ? `${lua(s.after)}\n` : '') + lua(s.file) });
      }
    }
    this.scripts = commands as Scripts;
  }

  async add(cid: number, conn: PresenceConn): Promise<boolean> {
    return (await this.addConn(cid, conn)) === 1;
  }

  async join(cid: number, conn: PresenceConn, max = Number.POSITIVE_INFINITY): Promise<{ first: boolean } & PresencePage> {
    const [first, values, online] = (await this.addConn(cid, conn, asLimit(max))) as [number, string[], number];
    return { first: first === 1, members: members(values).slice(0, max), online: Number(online) };
  }

  /** `list` the channel's presence with it (at most that many users), or -1. */
  private async addConn(cid: number, conn: PresenceConn, list = -1): Promise<unknown> {
    if (conn.nodeId.includes('|')) throw new Error(`node id must not contain '|': ${conn.nodeId}`);
    await this.redis.sadd(this.keys.nodeConns(conn.nodeId), `${cid}|${conn.connId}`);
    const value = `${conn.nodeId}|${conn.guest ? 1 : 0}|${conn.user}`;
    return this.scripts.parleyPresenceAdd(this.keys.presenceConns(cid), this.keys.presenceUsers(cid), conn.connId, value, conn.user, list);
  }

  async remove(cid: number, conn: PresenceConn): Promise<boolean> {
    return (await this.release(cid, conn)) === 'last';
  }

  async release(cid: number, conn: PresenceConn): Promise<Release> {
    const r = await this.scripts.parleyPresenceRemove(this.keys.presenceConns(cid), this.keys.presenceUsers(cid), conn.connId);
    await this.redis.srem(this.keys.nodeConns(conn.nodeId), `${cid}|${conn.connId}`);
    return RELEASE[Number(r)] ?? 'missing';
  }

  async reassert(cid: number, conns: readonly PresenceConn[]): Promise<{ restored: string[]; joined: PresenceEntry[] }> {
    const restored: string[] = [];
    const joined: PresenceEntry[] = [];
    // The owners' sets first, as in `add`: a channel entry is never there without its reaping record.
    const byOwner = new Map<string, string[]>();
    for (const c of conns) {
      if (c.nodeId.includes('|')) throw new Error(`node id must not contain '|': ${c.nodeId}`);
      let members = byOwner.get(c.nodeId);
      if (!members) byOwner.set(c.nodeId, (members = []));
      members.push(`${cid}|${c.connId}`);
    }
    for (const [owner, members] of byOwner) {
      for (let i = 0; i < members.length; i += REAP_CHUNK)
        await this.redis.sadd(this.keys.nodeConns(owner), ...members.slice(i, i + REAP_CHUNK));
    }
    for (let i = 0; i < conns.length; i += REAP_CHUNK) {
      const args = conns.slice(i, i + REAP_CHUNK).flatMap((c) => [c.connId, `${c.nodeId}|${c.guest ? 1 : 0}|${c.user}`, c.user]);
      const [added, users] = (await this.scripts.parleyPresenceAssert(
        this.keys.presenceConns(cid),
        this.keys.presenceUsers(cid),
        ...args,
      )) as [string[], string[]];
      restored.push(...added);
      for (const u of users) joined.push({ user: u.slice(2), guest: u[0] === '1' });
    }
    return { restored, joined };
  }

  async list(cid: number): Promise<PresenceEntry[]> {
    return members(await this.redis.hvals(this.keys.presenceConns(cid)));
  }

  async page(cid: number, max: number): Promise<PresencePage> {
    const [values, online] = (await this.scripts.parleyPresencePage(
      this.keys.presenceConns(cid),
      this.keys.presenceUsers(cid),
      asLimit(max),
    )) as [string[], number];
    return { members: members(values).slice(0, max), online: Number(online) };
  }

  async online(cid: number, users: readonly string[]): Promise<boolean[]> {
    if (users.length === 0) return [];
    const counts = await this.redis.hmget(this.keys.presenceUsers(cid), ...users);
    return counts.map((n) => n !== null && Number(n) > 0);
  }

  async setTyping(cid: number, user: string, ttlMs: number): Promise<string[]> {
    // A ttl below 1 ms would mean "clear" to the script.
    return this.typingScript(cid, user, Math.max(1, Math.ceil(ttlMs)));
  }

  async clearTyping(cid: number, user: string): Promise<string[]> {
    return this.typingScript(cid, user, 0);
  }

  async typing(cid: number): Promise<string[]> {
    return this.typingScript(cid, '', 0);
  }

  async heartbeat(owner: string, ttlMs: number): Promise<LeaseState> {
    const r = await this.scripts.parleyNodeHeartbeat(this.keys.nodes(), this.keys.reaped(), owner, Math.ceil(ttlMs));
    return LEASE[Number(r)] ?? 'new';
  }

  async owners(): Promise<string[]> {
    return this.redis.zrange(this.keys.nodes(), '0', '-1');
  }

  async deadNodes(): Promise<string[]> {
    return (await this.scripts.parleyNodeDead(this.keys.nodes())) as string[];
  }

  async reapNode(owner: string): Promise<{ cid: number; user: string }[]> {
    const setKey = this.keys.nodeConns(owner);
    const byChannel = new Map<number, string[]>();
    for (const m of await this.redis.smembers(setKey)) {
      const bar = m.indexOf('|');
      const cid = Number(m.slice(0, bar));
      let conns = byChannel.get(cid);
      if (!conns) byChannel.set(cid, (conns = []));
      conns.push(m.slice(bar + 1));
    }
    const leaves: { cid: number; user: string }[] = [];
    await Promise.all(
      [...byChannel].map(async ([cid, conns]) => {
        for (let i = 0; i < conns.length; i += REAP_CHUNK) {
          const users = (await this.scripts.parleyPresenceReap(
            this.keys.presenceConns(cid),
            this.keys.presenceUsers(cid),
            owner,
            ...conns.slice(i, i + REAP_CHUNK),
          )) as string[];
          for (const user of users) leaves.push({ cid, user });
        }
      }),
    );
    // Only after every channel is clean: a reaper that dies halfway leaves the set for the next.
    await this.redis.del(setKey);
    await this.scripts.parleyNodeReaped(this.keys.nodes(), this.keys.reaped(), owner, REAPED_MEMORY_MS);
    return leaves;
  }

  /** The client belongs to whoever created it. */
  async close(): Promise<void> {}

  private async typingScript(cid: number, user: string, ttlMs: number): Promise<string[]> {
    return (await this.scripts.parleyTyping(this.keys.typing(cid), user, ttlMs)) as string[];
  }
}
