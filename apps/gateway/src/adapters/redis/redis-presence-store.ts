import { readFileSync } from 'node:fs';
import type { PresenceEntry } from '@parley/protocol';
import type { PresenceConn, PresenceStore } from '../../ports/presence-store.js';
import type { RedisClient } from './connect.js';
import { RedisKeys } from './keys.js';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

/** Scripts as ioredis commands (EVALSHA, EVAL on NOSCRIPT); name → number of KEYS. */
const SCRIPTS = {
  parleyPresenceAdd: { file: 'presence-add', keys: 2 },
  parleyPresenceRemove: { file: 'presence-remove', keys: 2 },
  parleyPresenceReap: { file: 'presence-reap', keys: 2 },
  parleyTyping: { file: 'typing', keys: 1 },
  parleyNodeHeartbeat: { file: 'node-heartbeat', keys: 1 },
  parleyNodeDead: { file: 'node-dead', keys: 1 },
} as const;
type ScriptName = keyof typeof SCRIPTS;
type Scripts = Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;

/** A channel's users, once each, from its conns hash values ("nodeId|guest|user"). */
function members(values: readonly string[]): PresenceEntry[] {
  const users = new Map<string, boolean>();
  for (const v of values) {
    const bar = v.indexOf('|');
    const user = v.slice(bar + 3);
    if (!users.has(user)) users.set(user, v[bar + 1] === '1');
  }
  return [...users].map(([user, guest]) => ({ user, guest }));
}

/** Connections per reap script call: keeps one script run short on a node with a huge channel. */
const REAP_CHUNK = 500;

export interface RedisPresenceStoreOptions {
  /** Standalone or Cluster; the store does not close it (the composition root owns it). */
  redis: RedisClient;
  prefix: string;
}

/**
 * Presence and typing in Redis (layout in keys.ts):
 *
 * - per channel, under `{c:<cid>}`: `presence` HASH connId → "nodeId|guest|user" and
 *   `presence:users` HASH user → connection count. Join/leave are decided atomically in Lua
 *   (0→1 is a join, 1→0 a leave), so concurrent tabs on different nodes never race.
 * - per node, under `{n:<nodeId>}`: SET of "cid|connId" the node added, read by whoever reaps it.
 *   It lives in another slot than the channel keys, so it is written in its own command: added
 *   BEFORE the channel entry and removed AFTER it. A crash in between leaves at worst a stale
 *   set member (reaping it finds nothing), never a channel entry no reaper can find.
 * - `{nodes}:leases` ZSET nodeId → lease expiry on the Redis clock; `deadNodes` is one range read.
 * - `{c:<cid>}:typing` ZSET user → expiry, pruned on every access, PEXPIREd with its newest entry.
 *
 * Works unchanged on Redis Cluster: every script touches keys of one hash tag only.
 * Node ids must not contain '|'.
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly scripts: Scripts;

  constructor(opts: RedisPresenceStoreOptions) {
    this.redis = opts.redis;
    this.keys = new RedisKeys(opts.prefix);
    const commands = this.redis as unknown as Partial<Scripts>;
    for (const [name, s] of Object.entries(SCRIPTS)) {
      if (typeof commands[name as ScriptName] !== 'function') {
        this.redis.defineCommand(name, { numberOfKeys: s.keys, lua: lua(s.file) });
      }
    }
    this.scripts = commands as Scripts;
  }

  async add(cid: number, conn: PresenceConn): Promise<boolean> {
    return (await this.addConn(cid, conn, false)) === 1;
  }

  async join(cid: number, conn: PresenceConn): Promise<{ first: boolean; members: PresenceEntry[] }> {
    const [first, values] = (await this.addConn(cid, conn, true)) as [number, string[]];
    return { first: first === 1, members: members(values) };
  }

  private async addConn(cid: number, conn: PresenceConn, withList: boolean): Promise<unknown> {
    if (conn.nodeId.includes('|')) throw new Error(`node id must not contain '|': ${conn.nodeId}`);
    await this.redis.sadd(this.keys.nodeConns(conn.nodeId), `${cid}|${conn.connId}`);
    const value = `${conn.nodeId}|${conn.guest ? 1 : 0}|${conn.user}`;
    return this.scripts.parleyPresenceAdd(
      this.keys.presenceConns(cid),
      this.keys.presenceUsers(cid),
      conn.connId,
      value,
      conn.user,
      withList ? '1' : '0',
    );
  }

  async remove(cid: number, conn: PresenceConn): Promise<boolean> {
    const last = await this.scripts.parleyPresenceRemove(this.keys.presenceConns(cid), this.keys.presenceUsers(cid), conn.connId);
    await this.redis.srem(this.keys.nodeConns(conn.nodeId), `${cid}|${conn.connId}`);
    return last === 1;
  }

  async list(cid: number): Promise<PresenceEntry[]> {
    return members(await this.redis.hvals(this.keys.presenceConns(cid)));
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

  async heartbeat(nodeId: string, ttlMs: number): Promise<void> {
    await this.scripts.parleyNodeHeartbeat(this.keys.nodes(), nodeId, Math.ceil(ttlMs));
  }

  async deadNodes(): Promise<string[]> {
    return (await this.scripts.parleyNodeDead(this.keys.nodes())) as string[];
  }

  async reapNode(nodeId: string): Promise<{ cid: number; user: string }[]> {
    const setKey = this.keys.nodeConns(nodeId);
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
            nodeId,
            ...conns.slice(i, i + REAP_CHUNK),
          )) as string[];
          for (const user of users) leaves.push({ cid, user });
        }
      }),
    );
    // Only after every channel is clean: a reaper that dies halfway leaves the set for the next.
    await this.redis.del(setKey);
    await this.redis.zrem(this.keys.nodes(), nodeId);
    return leaves;
  }

  /** The client belongs to whoever created it. */
  async close(): Promise<void> {}

  private async typingScript(cid: number, user: string, ttlMs: number): Promise<string[]> {
    return (await this.scripts.parleyTyping(this.keys.typing(cid), user, ttlMs)) as string[];
  }
}
