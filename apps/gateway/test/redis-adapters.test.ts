import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryAllowances } from '../src/adapters/memory/memory-allowances.js';
import { MemoryBroker, MemoryBus } from '../src/adapters/memory/memory-broker.js';
import { MemoryPresenceStore } from '../src/adapters/memory/memory-presence-store.js';
import { connectRedis, parseRedisUrl, type RedisClient } from '../src/adapters/redis/connect.js';
import { hashSlot, RedisKeys } from '../src/adapters/redis/keys.js';
import { RedisAllowances } from '../src/adapters/redis/redis-allowances.js';
import { RedisBroker } from '../src/adapters/redis/redis-broker.js';
import { RedisPresenceStore } from '../src/adapters/redis/redis-presence-store.js';
import { brokerHealthy as healthy } from './broker-health.js';
import { type AllowanceBackend, describeAllowanceStoreContract } from './contracts/allowance-store.contract.js';
import { type BrokerBackend, describeBrokerContract } from './contracts/broker.contract.js';
import { describePresenceStoreContract, type PresenceBackend } from './contracts/presence-store.contract.js';
import { freePort, type LocalRedisCluster, startRedisCluster } from './redis-cluster.js';
import { provisionRedis } from './services.js';

const suffix = () => randomBytes(3).toString('hex');
const PROBE_MS = 100;

function redisBrokers(url: string, prefix: string, cleanup: () => Promise<void> = async () => {}): BrokerBackend {
  const nodes: RedisBroker[] = [];
  return {
    async node(id) {
      const b = new RedisBroker({ url, prefix, nodeId: `${id}-${suffix()}`, probeIntervalMs: PROBE_MS });
      nodes.push(b);
      await healthy(b);
      return b;
    },
    async close() {
      await Promise.all(nodes.map((b) => b.close()));
      await cleanup();
    },
  };
}

function redisPresence(url: string, prefix: string, cleanup: () => Promise<void> = async () => {}): PresenceBackend {
  const clients: RedisClient[] = [];
  return {
    async store() {
      const redis = connectRedis(url);
      clients.push(redis);
      return new RedisPresenceStore({ redis, prefix });
    },
    async close() {
      for (const c of clients) c.disconnect();
      await cleanup();
    },
  };
}

function redisAllowances(url: string, prefix: string, cleanup: () => Promise<void> = async () => {}): AllowanceBackend {
  const clients: RedisClient[] = [];
  return {
    async store() {
      const redis = connectRedis(url);
      clients.push(redis);
      return new RedisAllowances(redis, new RedisKeys(prefix), (err) => {
        throw err; // the contract runs against a Redis that answers: no silent fallback
      });
    },
    async close() {
      for (const c of clients) c.disconnect();
      await cleanup();
    },
  };
}

/** Kills this node's pub/sub connections (only its own: other tests share the server). */
async function killSubscriber(admins: Redis[], nodeId: string): Promise<number> {
  let killed = 0;
  for (const admin of admins) {
    const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    for (const line of list.split('\n')) {
      const name = / name=(\S*)/.exec(line)?.[1] ?? '';
      const cid = /^id=(\d+)/.exec(line)?.[1];
      if (cid && name.includes(nodeId)) killed += Number(await admin.call('CLIENT', 'KILL', 'ID', cid));
    }
  }
  return killed;
}

/**
 * The Redis-only clauses: restore after a killed connection, health transitions, publish while down.
 * `admins` are plain connections to every server the broker's subscriptions can live on.
 */
function describeRedisBrokerFailures(name: string, env: () => { url: string; prefix: string; admins: Redis[] }): void {
  describe(`RedisBroker failures: ${name}`, () => {
    it('restores subscriptions after its pub/sub connection is killed; healthy() goes false, then true', async () => {
      const { url, prefix, admins } = env();
      const a = new RedisBroker({ url, prefix, nodeId: `a-${suffix()}`, probeIntervalMs: PROBE_MS });
      const bId = `b-${suffix()}`;
      const changes: boolean[] = [];
      const b = new RedisBroker({ url, prefix, nodeId: bId, probeIntervalMs: PROBE_MS, onHealthChange: (h) => changes.push(h) });
      const got: string[] = [];
      b.onMessage((_t, bytes) => got.push(Buffer.from(bytes).toString()));
      try {
        await Promise.all([healthy(a), healthy(b)]);
        await b.subscribe('c:1');
        await b.subscribe('ctl');
        await a.publish('c:1', Buffer.from('before'));
        await vi.waitFor(() => expect(got).toContain('before'), { timeout: 5000, interval: 5 });
        changes.length = 0;

        expect(await killSubscriber(admins, bId)).toBeGreaterThan(0);
        await vi.waitFor(() => expect(changes).toContain(false), { timeout: 5000, interval: 5 });
        await healthy(b);
        expect(changes.at(-1)).toBe(true);
        await a.publish('c:1', Buffer.from('after'));
        await a.publish('ctl', Buffer.from('ctl-after'));
        // Two topics: on Redis Cluster they live on different shards (subscriber connections), so
        // nothing orders one against the other; each arrives, once.
        await vi.waitFor(() => expect([...got].sort()).toEqual(['after', 'before', 'ctl-after']), { timeout: 5000, interval: 5 });
        expect(got[0]).toBe('before');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('rejects publishes while Redis is unreachable and is not healthy', async () => {
      const { url, prefix } = env();
      const port = await freePort(); // nothing listens here
      const dead = parseRedisUrl(url).mode === 'cluster' ? `redis+cluster://127.0.0.1:${port}` : `redis://127.0.0.1:${port}`;
      const b = new RedisBroker({ url: dead, prefix, nodeId: `down-${suffix()}`, probeIntervalMs: PROBE_MS });
      try {
        await expect(b.publish('c:1', Buffer.from('x'))).rejects.toThrow();
        expect(b.healthy()).toBe(false);
      } finally {
        await b.close();
      }
    });
  });
}

/** A TCP forwarder that can freeze its open connections: they stay open but carry nothing. */
class FreezingProxy {
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  port = 0;
  constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      for (const s of pair) {
        s.on('close', end);
        s.on('error', end);
      }
      client.pipe(upstream).pipe(client);
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
  }
  freeze(): number {
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
    return this.pairs.size;
  }
  async close(): Promise<void> {
    for (const pair of this.pairs) for (const s of pair) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

// ---------------------------------------------------------------------------------------------

describe('Redis keys', () => {
  it('computes Redis Cluster hash slots, honouring hash tags', () => {
    expect(hashSlot('123456789')).toBe(0x31c3);
    expect(hashSlot('foo')).toBe(12182);
    expect(hashSlot('{user1000}.following')).toBe(hashSlot('{user1000}.followers'));
    expect(hashSlot('foo{}{bar}')).toBe(hashSlot('foo{}{bar}'));
    expect(hashSlot('foo{}{bar}')).not.toBe(hashSlot('bar'));
  });

  it("puts one chat channel's keys and its pub/sub channel in one slot", () => {
    const k = new RedisKeys('parley:');
    const slots = new Set(
      [k.presenceConns(42), k.presenceUsers(42), k.typing(42), k.recent(42), k.recentHigh(42), k.topic('c:42')].map(hashSlot),
    );
    expect(slots.size).toBe(1);
    expect(k.presenceConns(42)).toBe('parley:{c:42}:presence');
    expect(() => new RedisKeys('a{b}:')).toThrow();
  });

  it('parses standalone and cluster URLs', () => {
    expect(parseRedisUrl('redis://h:6380/2')).toEqual({ mode: 'standalone', url: 'redis://h:6380/2' });
    expect(parseRedisUrl('redis+cluster://u:p%40ss@a:7000,b:7001,c')).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
        { host: 'c', port: 6379 },
      ],
      username: 'u',
      password: 'p@ss',
      tls: false,
    });
    expect(() => parseRedisUrl('http://x')).toThrow();
  });
});

describe('memory adapters', () => {
  describeBrokerContract('memory', async () => {
    const bus = new MemoryBus();
    const nodes: MemoryBroker[] = [];
    return {
      node: async () => {
        const b = new MemoryBroker(bus);
        nodes.push(b);
        return b;
      },
      close: async () => {
        for (const b of nodes) await b.close();
      },
    };
  });
  describePresenceStoreContract('memory', async () => {
    const store = new MemoryPresenceStore();
    return { store: async () => store, close: async () => {} };
  });
  describeAllowanceStoreContract('memory', async () => {
    const store = new MemoryAllowances();
    return { store: async () => store, close: async () => {} };
  });
});

describe('Redis standalone', () => {
  let url = '';
  let admin: Redis;
  beforeAll(async () => {
    url = (await provisionRedis()).url;
    admin = new Redis(url);
  });
  afterAll(() => admin?.disconnect());

  describeBrokerContract('redis', async () => {
    const r = await provisionRedis();
    return redisBrokers(r.url, r.prefix, r.cleanup);
  });
  describePresenceStoreContract('redis', async () => {
    const r = await provisionRedis();
    return redisPresence(r.url, r.prefix, r.cleanup);
  });
  describeAllowanceStoreContract('redis', async () => {
    const r = await provisionRedis();
    return redisAllowances(r.url, r.prefix, r.cleanup);
  });

  it('allowances: a full bucket leaves no key, a used one expires when it would be full again', async () => {
    const r = await provisionRedis();
    const redis = connectRedis(r.url);
    try {
      const store = new RedisAllowances(redis, new RedisKeys(r.prefix));
      const kind = { name: 'signup-addr', burst: 4, windowMs: 60_000 };
      const key = new RedisKeys(r.prefix).allowance(kind.name, '203.0.113.7');
      expect(await store.take(kind, '203.0.113.7')).toBe(0);
      expect(await store.take(kind, '203.0.113.7')).toBe(0);
      const ttl = await admin.pttl(key);
      expect(ttl).toBeGreaterThan(29_000); // two attempts to refill at 15 s each
      expect(ttl).toBeLessThanOrEqual(30_000);
      await store.give(kind, '203.0.113.7');
      await store.give(kind, '203.0.113.7');
      expect(await admin.exists(key)).toBe(0);
    } finally {
      redis.disconnect();
      await r.cleanup();
    }
  });

  it('allowances: while Redis does not answer, each node counts on its own and says why', async () => {
    const port = await freePort();
    const redis = connectRedis(`redis://127.0.0.1:${port}`);
    redis.on('error', () => {});
    const errors: unknown[] = [];
    try {
      const store = new RedisAllowances(redis, new RedisKeys(`parley_test_${suffix()}:`), (e) => errors.push(e));
      const kind = { name: 'login-addr', burst: 2, windowMs: 60_000 };
      expect(await store.take(kind, 'x')).toBe(0);
      expect(await store.take(kind, 'x')).toBe(0);
      const t0 = Date.now();
      expect(await store.take(kind, 'x')).toBeGreaterThan(0);
      expect(Date.now() - t0).toBeLessThan(50); // no wait for reconnect attempts
      expect(errors.length).toBeGreaterThanOrEqual(3);
    } finally {
      redis.disconnect();
    }
  });
  describeRedisBrokerFailures('redis', () => ({ url, prefix: `parley_test_${suffix()}:`, admins: [admin] }));

  it('probe catches a silently dead connection, reconnects, and delivery resumes', async () => {
    const server = new URL(url);
    const proxy = new FreezingProxy({ host: server.hostname, port: Number(server.port || 6379) });
    await proxy.listen();
    const proxied = new URL(url);
    proxied.host = `127.0.0.1:${proxy.port}`;
    const prefix = `parley_test_${suffix()}:`;
    const a = new RedisBroker({ url, prefix, nodeId: `a-${suffix()}`, probeIntervalMs: PROBE_MS });
    const b = new RedisBroker({ url: proxied.toString(), prefix, nodeId: `b-${suffix()}`, probeIntervalMs: PROBE_MS, probeTimeoutMs: 300 });
    const got: string[] = [];
    b.onMessage((_t, bytes) => got.push(Buffer.from(bytes).toString()));
    try {
      await Promise.all([healthy(a), healthy(b)]);
      await b.subscribe('c:9');
      expect(proxy.freeze()).toBe(2); // publisher and subscriber: open, silent
      await a.publish('c:9', Buffer.from('lost'));
      await healthy(b, false);
      await healthy(b);
      await a.publish('c:9', Buffer.from('after'));
      await vi.waitFor(() => expect(got).toContain('after'), { timeout: 5000, interval: 5 });
      expect(got).toEqual(['after']);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await proxy.close();
    }
  });
});

describe('Redis Cluster (3 masters, sharded pub/sub)', () => {
  let cluster: LocalRedisCluster;
  let admins: Redis[] = [];
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    admins = cluster.nodes.map((n) => new Redis(n));
  });
  afterAll(async () => {
    for (const a of admins) a.disconnect();
    await cluster?.stop();
  });

  it("agrees with CLUSTER KEYSLOT, and one channel's keys sit on one shard", async () => {
    const k = new RedisKeys('p:');
    for (const key of [k.presenceConns(7), k.topic('c:7'), k.nodeConns('gw-1'), k.nodes(), 'plain-key']) {
      expect(await admins[0]!.cluster('KEYSLOT', key)).toBe(hashSlot(key));
    }
  });

  // The cluster is private to this file: no cleanup of keys needed, just a fresh prefix.
  describeBrokerContract('redis cluster', async () => redisBrokers(cluster.url, `p${suffix()}:`));
  describePresenceStoreContract('redis cluster', async () => redisPresence(cluster.url, `p${suffix()}:`));
  describeAllowanceStoreContract('redis cluster', async () => redisAllowances(cluster.url, `p${suffix()}:`));
  describeRedisBrokerFailures('redis cluster', () => ({ url: cluster.url, prefix: `p${suffix()}:`, admins }));

  it('spreads channels over the shards: each one is subscribed on the master that owns its slot only', async () => {
    const prefix = `p${suffix()}:`;
    const backend = redisBrokers(cluster.url, prefix);
    try {
      const [a, b] = await Promise.all([backend.node('a'), backend.node('b')]);
      const got = new Set<string>();
      b.onMessage((t) => got.add(t));
      const topics = Array.from({ length: 12 }, (_, i) => `c:${i}`);
      for (const t of topics) await b.subscribe(t);
      for (const t of topics) await a.publish(t, Buffer.from(t));
      await vi.waitFor(() => expect(got.size).toBe(topics.length), { timeout: 5000, interval: 5 });
      const perShard = await cluster.eachNode(async (r) => (await r.pubsub('SHARDCHANNELS', `${prefix}{c:*`)) as string[]);
      const keys = new RedisKeys(prefix);
      expect(perShard.flat().sort()).toEqual(topics.map((t) => keys.topic(t)).sort());
      expect(perShard.filter((chs) => chs.length > 0).length).toBeGreaterThan(1);
    } finally {
      await backend.close();
    }
  });
});
