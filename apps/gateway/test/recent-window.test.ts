import { encodeBatch, encodeEvent, Op } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectRedis, type RedisClient } from '../src/adapters/redis/connect.js';
import { RedisKeys } from '../src/adapters/redis/keys.js';
import { RedisBroker } from '../src/adapters/redis/redis-broker.js';
import { RedisRecentWindow } from '../src/adapters/redis/redis-recent-window.js';
import { RedisSanctionCache } from '../src/adapters/redis/redis-sanction-cache.js';
import { openPostgres, type SqlDb } from '../src/adapters/sql/db.js';
import { migrate } from '../src/adapters/sql/migrate.js';
import { SqlChannelStore } from '../src/adapters/sql/sql-channel-store.js';
import { SqlMessageStore } from '../src/adapters/sql/sql-message-store.js';
import { SqlModerationStore } from '../src/adapters/sql/sql-moderation-store.js';
import { SqlUserStore } from '../src/adapters/sql/sql-user-store.js';
import { QuotaExceededError } from '../src/ports/limits.js';
import { brokerHealthy } from './broker-health.js';
import { describeMessageStoreContract } from './contracts/message-store.contract.js';
import { describeModerationStoreContract } from './contracts/moderation-store.contract.js';
import type { StoreFactory } from './contracts/store-set.js';
import { type LocalRedisCluster, startRedisCluster } from './redis-cluster.js';
import { provisionPostgres, provisionRedis } from './services.js';

/** Cluster-mode composition: Redis recent window and sanction cache in front of Postgres. */
function windowed(redisUrl: () => string): StoreFactory {
  return async () => {
    const pg = await provisionPostgres();
    // A unique prefix; keys left on the shared standalone Redis are deleted on close (the Cluster
    // is a throwaway the suite starts and stops).
    const scratch = await provisionRedis();
    const redis = connectRedis(redisUrl());
    const keys = new RedisKeys(scratch.prefix);
    const db = openPostgres(pg.url);
    const pools: SqlDb[] = [db];
    await migrate(db);
    return {
      messages: new RedisRecentWindow(new SqlMessageStore(db), redis, keys),
      channels: new SqlChannelStore(db),
      users: new SqlUserStore(db),
      moderation: new RedisSanctionCache(new SqlModerationStore(db), redis, keys),
      peer: async () => {
        const p = openPostgres(pg.url, { max: 2 });
        pools.push(p);
        return new RedisRecentWindow(new SqlMessageStore(p), redis, keys);
      },
      close: async () => {
        redis.disconnect();
        await scratch.cleanup();
        for (const p of pools) await p.close();
        await pg.drop();
      },
    };
  };
}

let standalone = '';
let cluster: LocalRedisCluster | undefined;
beforeAll(async () => {
  standalone = (await provisionRedis()).url;
  cluster = await startRedisCluster(3);
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

describeMessageStoreContract(
  'recent window on Redis standalone + Postgres',
  windowed(() => standalone),
);
describeMessageStoreContract(
  'recent window on Redis Cluster + Postgres',
  windowed(() => cluster!.url),
);

describeModerationStoreContract(
  'sanction cache on Redis standalone + Postgres',
  windowed(() => standalone),
);
describeModerationStoreContract(
  'sanction cache on Redis Cluster + Postgres',
  windowed(() => cluster!.url),
);

/** A migrated throwaway Postgres database and a Redis connection with its own key prefix, for one describe block. */
function realPostgresAndRedis(url?: () => string): { redis: RedisClient; db: SqlDb; scratch: Awaited<ReturnType<typeof provisionRedis>> } {
  const env = {} as { redis: RedisClient; db: SqlDb; scratch: Awaited<ReturnType<typeof provisionRedis>> };
  let drop: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const pg = await provisionPostgres();
    drop = pg.drop;
    env.db = openPostgres(pg.url);
    await migrate(env.db);
    env.scratch = await provisionRedis();
    env.redis = connectRedis(url?.() ?? env.scratch.url);
  });
  afterAll(async () => {
    env.redis.disconnect();
    await env.scratch.cleanup();
    await env.db.close();
    await drop();
  });
  return env;
}

/**
 * The window is written by RedisBroker.publish (`retain`: one script adds the committed messages
 * and publishes them) and read by RedisRecentWindow. Run on Redis standalone and Cluster (where
 * the script's SPUBLISH must share the keys' slot).
 */
function describeWindow(name: string, url: () => string): void {
  describe(`recent window (${name}) serves resume from Redis only when provably complete`, () => {
    const env = realPostgresAndRedis(url);

    it('recent ranges come from Redis; holes, reactions and a wiped window fall back to Postgres', async () => {
      const { redis, db, scratch } = env;
      const keys = new RedisKeys(scratch.prefix);
      const inner = new SqlMessageStore(db);
      const store = new RedisRecentWindow(inner, redis, keys);
      const broker = new RedisBroker({ url: url(), prefix: scratch.prefix, nodeId: 'win-node', windowSize: 100, probeIntervalMs: 0 });
      const listener = new RedisBroker({ url: url(), prefix: scratch.prefix, nodeId: 'win-peer', probeIntervalMs: 0 });
      try {
        const owner = (await new SqlUserStore(db).createAccount(`win-owner-${name}`, 'x'))!;
        const ch = (await new SqlChannelStore(db).create(`win-${name}`, owner.id))!;
        const heard: Uint8Array[] = [];
        listener.onMessage((_t, b) => heard.push(b));
        await Promise.all([brokerHealthy(broker), brokerHealthy(listener)]);
        await listener.subscribe(`c:${ch.cid}`);
        const appended = await store.appendBatch(
          Array.from({ length: 150 }, (_, i) => ({ cid: ch.cid, userId: owner.id, user: owner.name, text: `m${i + 1}`, cmid: null })),
        );
        // As the hub does: one publish per channel per tick, in three ticks here.
        const frames = appended.map((a, i) => ({
          seq: a.seq,
          frame: encodeEvent({ op: Op.Message, cid: ch.cid, seq: a.seq, user: owner.name, text: `m${i + 1}`, ts: a.ts }),
        }));
        for (let k = 0; k < 150; k += 50) {
          const part = frames.slice(k, k + 50);
          await broker.publish(`c:${ch.cid}`, encodeBatch(part.map((f) => f.frame)), { cid: ch.cid, frames: part });
        }
        await vi.waitFor(() => expect(heard).toHaveLength(3)); // the publish reached the other node
        expect(await redis.zcard(keys.recent(ch.cid))).toBe(100);
        const spy = vi.spyOn(inner, 'history');
        const recent = await store.history(ch.cid, { before: null, after: 120, limit: 100 });
        expect(recent.messages.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => 121 + i));
        expect(recent.messages[0]).toEqual({ cid: ch.cid, seq: 121, user: owner.name, text: 'm121', ts: appended[120]!.ts });
        expect(recent.more).toBe(false);
        expect(spy).not.toHaveBeenCalled(); // served by Redis
        const old = await store.history(ch.cid, { before: null, after: 10, limit: 20 });
        expect(old.messages[0]?.seq).toBe(11);
        expect(spy).toHaveBeenCalledTimes(1); // older than the window: Postgres
        await store.addReaction(ch.cid, 130, owner.id, '👍', 20);
        const withReaction = await store.history(ch.cid, { before: null, after: 125, limit: 10 });
        expect(withReaction.messages.find((m) => m.seq === 130)?.reactions).toEqual([{ emoji: '👍', users: [owner.name] }]);
        expect(spy).toHaveBeenCalledTimes(2); // a message whose reactions changed is served by Postgres
        // The reaction cap reaches the store through the window.
        await expect(store.addReaction(ch.cid, 131, owner.id, '👍', 1)).resolves.toBe(true);
        await expect(store.addReaction(ch.cid, 131, owner.id, '🎉', 1)).rejects.toBeInstanceOf(QuotaExceededError);
        await redis.del(keys.recent(ch.cid)); // Redis restarted without persistence
        const wiped = await store.history(ch.cid, { before: null, after: 140, limit: 100 });
        expect(wiped.messages.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 141 + i));
        expect(spy).toHaveBeenCalledTimes(3);
      } finally {
        await broker.close();
        await listener.close();
      }
    });

    it('publishes of one tick to several channels arrive in order and fill each window (standalone: in one call)', async () => {
      const { redis, db, scratch } = env;
      const keys = new RedisKeys(scratch.prefix);
      const broker = new RedisBroker({ url: url(), prefix: scratch.prefix, nodeId: 'tick-node', windowSize: 100, probeIntervalMs: 0 });
      const listener = new RedisBroker({ url: url(), prefix: scratch.prefix, nodeId: 'tick-peer', probeIntervalMs: 0 });
      try {
        const owner = (await new SqlUserStore(db).createAccount(`tick-owner-${name}`, 'x'))!;
        const chans: { cid: number }[] = [];
        for (const i of [1, 2, 3]) chans.push((await new SqlChannelStore(db).create(`tick-${name}-${i}`, owner.id))!);
        const heard: string[] = [];
        listener.onMessage((t, b) => heard.push(`${t}:${b[0]}`));
        await Promise.all([brokerHealthy(broker), brokerHealthy(listener)]);
        for (const ch of chans) await listener.subscribe(`c:${ch.cid}`);
        await broker.publish('c:0', new Uint8Array([0])); // the script loaded before counting
        const sent = vi.spyOn((broker as unknown as { pub: { sendCommand: (...a: unknown[]) => unknown } }).pub, 'sendCommand');
        // As the hub's flush does: every channel's batch in one synchronous pass, nothing awaited in between.
        const frame = (cid: number, seq: number) => encodeEvent({ op: Op.Message, cid, seq, user: owner.name, text: `t${seq}`, ts: 1 });
        const done: Promise<void>[] = [
          broker.publish(`c:${chans[0]!.cid}`, new Uint8Array([1]), {
            cid: chans[0]!.cid,
            frames: [{ seq: 1, frame: frame(chans[0]!.cid, 1) }],
          }),
          broker.publish(`c:${chans[1]!.cid}`, new Uint8Array([2])), // no retain (ephemeral)
          broker.publish(`c:${chans[2]!.cid}`, new Uint8Array([3]), {
            cid: chans[2]!.cid,
            frames: [1, 2, 3].map((seq) => ({ seq, frame: frame(chans[2]!.cid, seq) })),
          }),
          broker.publish(`c:${chans[0]!.cid}`, new Uint8Array([4]), {
            cid: chans[0]!.cid,
            frames: [{ seq: 2, frame: frame(chans[0]!.cid, 2) }],
          }),
        ];
        await Promise.all(done);
        if (name === 'standalone') expect(sent).toHaveBeenCalledTimes(1);
        await vi.waitFor(() => expect(heard).toHaveLength(4));
        // Order per topic always; on standalone also across topics (one script, in publish order).
        const expected = [`c:${chans[0]!.cid}:1`, `c:${chans[1]!.cid}:2`, `c:${chans[2]!.cid}:3`, `c:${chans[0]!.cid}:4`];
        if (name === 'standalone') expect(heard).toEqual(expected);
        else expect(heard.filter((h) => h.startsWith(`c:${chans[0]!.cid}:`))).toEqual([expected[0], expected[3]]);
        expect(await redis.zrange(keys.recent(chans[0]!.cid), '0', '-1', 'WITHSCORES').then((r) => r.filter((_, i) => i % 2))).toEqual([
          '1',
          '2',
        ]);
        expect(await redis.zcard(keys.recent(chans[1]!.cid))).toBe(0);
        expect(await redis.zcard(keys.recent(chans[2]!.cid))).toBe(3);
        expect(await redis.get(keys.recentHigh(chans[0]!.cid))).toBe('2');
        expect(await redis.get(keys.recentHigh(chans[2]!.cid))).toBe('3');
      } finally {
        await broker.close();
        await listener.close();
      }
    });
  });
}
describeWindow('standalone', () => standalone);
describeWindow('cluster', () => cluster!.url);

describe('the Redis sanction cache never keeps an answer read before a change', () => {
  const env = realPostgresAndRedis();

  it('a reader that read Postgres just before a mute cannot cache "not muted" after it', async () => {
    const { redis, db, scratch } = env;
    const record = new SqlModerationStore(db);
    // Node A's read: Postgres answers (no mute yet), then A is slow to fill the cache.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let hold = true;
    const slowReader = new RedisSanctionCache(
      {
        ...record,
        active: async (cid, userId, now) => {
          const answer = await record.active(cid, userId, now);
          if (hold) await held;
          return answer;
        },
        standing: (cid, userId, now) => record.standing(cid, userId, now),
        act: (i, authorize) => record.act(i, authorize),
        deleteChannel: (cid, actor) => record.deleteChannel(cid, actor),
        auditLog: (c, l, b) => record.auditLog(c, l, b),
      },
      redis,
      new RedisKeys(scratch.prefix),
    );
    const moderator = new RedisSanctionCache(record, redis, new RedisKeys(scratch.prefix));
    const users = new SqlUserStore(db);
    const owner = (await users.createAccount('race-owner', 'x'))!;
    const target = (await users.claimGuest('race-target', 'tid'))!;
    const ch = (await new SqlChannelStore(db).create('race', owner.id))!;

    const stale = slowReader.active(ch.cid, target.id, Date.now());
    await new Promise((r) => setTimeout(r, 50)); // A has read Postgres and is held
    // Node B mutes meanwhile: the record, then the cache entry.
    const mute = {
      cid: ch.cid,
      actorId: owner.id,
      actor: owner.name,
      targetId: target.id,
      target: target.name,
      change: { kind: 'mute' as const, until: null, durationMs: null, reason: 'spam' },
    };
    await moderator.act(mute, () => {});
    hold = false;
    release();
    const before = await stale;
    expect(before.sanctions).toEqual([]); // A's own answer predates the mute
    // Any node reading now must see the mute, not A's stale fill; and a later generation (the send fence).
    const after = await moderator.active(ch.cid, target.id, Date.now());
    expect(after.sanctions.map((s) => s.kind)).toEqual(['mute']);
    expect(after.gen).toBeGreaterThan(before.gen);
    expect((await slowReader.active(ch.cid, target.id, Date.now())).sanctions.map((s) => s.kind)).toEqual(['mute']);
  });
});
