/**
 * Every Redis key and pub/sub channel name Parley uses, built in one place under one prefix.
 *
 * Hash tags decide placement in Redis Cluster (only the part between the first `{` and the next
 * `}` is hashed):
 * - `{c:<cid>}`: everything about one chat channel (presence, typing, the recent-message window,
 *   and its pub/sub channel, the broker topic `c:<cid>`), so per-channel Lua scripts touch one slot and SPUBLISH for a channel
 *   goes to the shard that holds its keys.
 * - `{n:<owner>}`: one lease owner's bookkeeping (which connections it owns, for reaping); an owner
 *   is one process lifetime of a node, `<nodeId>#<incarnation>` (ports/presence-store.ts).
 * - `{nodes}`: the lease table of all owners and the owners recently reaped (small sorted sets).
 * - `{probe:<nodeId>:<k>}`: a node-private liveness-probe channel; `k` lets the broker pick one
 *   channel per cluster shard.
 * - `{a:<kind>:<key>}`: one attempt allowance (a login or sign-up bucket), each its own slot.
 *
 * The prefix itself must not contain braces, or it would become the hash tag of every key and put
 * the whole keyspace on one shard.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error(`Redis key prefix must not contain '{' or '}': ${prefix}`);
  }

  /** HASH connId → "owner|guest(0/1)|user": the channel's connections. */
  presenceConns(cid: number): string {
    return `${this.prefix}{c:${cid}}:presence`;
  }
  /** HASH user → number of connections in the channel (join on 0→1, leave on 1→0). */
  presenceUsers(cid: number): string {
    return `${this.prefix}{c:${cid}}:presence:users`;
  }
  /** ZSET user → typing expiry (ms, Redis server clock); carries a PEXPIRE. */
  typing(cid: number): string {
    return `${this.prefix}{c:${cid}}:typing`;
  }
  /** ZSET seq → message entry: the channel's recent-message window (redis-recent-window.ts). */
  recent(cid: number): string {
    return `${this.prefix}{c:${cid}}:recent`;
  }
  /** STRING: the highest seq the recent window has seen for the channel. */
  recentHigh(cid: number): string {
    return `${this.prefix}{c:${cid}}:recent:high`;
  }
  /** STRING (JSON, PX ≤ 30 s): a user's mutes/bans in a channel, cached in front of Postgres. */
  sanctions(cid: number, userId: number): string {
    return `${this.prefix}{c:${cid}}:sanctions:${userId}`;
  }
  /** SET of "cid|connId" a lease owner has added: what a survivor reaps when the owner dies. */
  nodeConns(owner: string): string {
    return `${this.prefix}{n:${owner}}:conns`;
  }
  /** ZSET owner → lease expiry (ms, Redis server clock). */
  nodes(): string {
    return `${this.prefix}{nodes}:leases`;
  }
  /** ZSET owner → when it was reaped (ms): its next heartbeat, had it been alive, learns it (pruned after a day). */
  reaped(): string {
    return `${this.prefix}{nodes}:reaped`;
  }

  /** HASH t, at: one token bucket of an attempt allowance (redis-allowances.ts); PEXPIREd until full. */
  allowance(kind: string, key: string): string {
    return `${this.prefix}{a:${kind}:${key}}`;
  }

  /**
   * Pub/sub channel of a broker topic. The topic becomes the hash tag, so topic `c:42` shares
   * `{c:42}` with chat channel 42's keys (same shard in cluster mode).
   */
  topic(topic: string): string {
    return `${this.prefix}{${topic}}:bus`;
  }
  /** Node-private probe channel number `k`. */
  probe(nodeId: string, k: number): string {
    return `${this.prefix}{probe:${nodeId}:${k}}:probe`;
  }
}

/** Redis Cluster hash slot of a key (CRC16/XMODEM of the hash tag, or of the whole key, mod 16384). */
export function hashSlot(key: string): number {
  let bytes = Buffer.from(key);
  const open = bytes.indexOf(0x7b); // '{'
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
