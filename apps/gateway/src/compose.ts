import { MemoryAllowances } from './adapters/memory/memory-allowances.js';
import { MemoryBroker, MemoryBus } from './adapters/memory/memory-broker.js';
import { MemoryPresenceStore } from './adapters/memory/memory-presence-store.js';
import { openPglite, openPostgres, type SqlDb } from './adapters/sql/db.js';
import { migrate } from './adapters/sql/migrate.js';
import { rekeyNames } from './adapters/sql/name-keys.js';
import { SqlAdminStore } from './adapters/sql/sql-admin-store.js';
import { SqlChannelStore } from './adapters/sql/sql-channel-store.js';
import { SqlMessageStore } from './adapters/sql/sql-message-store.js';
import { SqlModerationStore } from './adapters/sql/sql-moderation-store.js';
import { SqlUserStore } from './adapters/sql/sql-user-store.js';
import type { Config } from './config.js';
import type { Ports } from './gateway.js';
import type { Logger } from './logger.js';
import type { AllowanceStore } from './ports/allowances.js';
import type { Broker } from './ports/broker.js';
import type { MessageStore } from './ports/message-store.js';
import type { ModerationStore } from './ports/moderation-store.js';
import type { PresenceStore } from './ports/presence-store.js';

/**
 * The composition root: picks adapters from config.
 * - DATABASE_URL → Postgres, else embedded PGlite in PARLEY_DATA_DIR.
 * - REDIS_URL → cluster mode: Redis broker (pub/sub; sharded pub/sub for redis+cluster://),
 *   Redis presence with TTL leases, a recent-message window and a mute/ban cache (TTL keys) in
 *   Redis in front of Postgres, and the login and sign-up allowances in Redis (cluster-wide).
 *   Without it, one node runs with an in-process broker, presence and allowances.
 * `shared` lets tests run several in-process nodes on one in-memory bus, presence and database.
 *
 * The Redis adapters (and ioredis, ~11 MiB resident) and PGlite (~6 MiB) are imported only in
 * the mode that uses them.
 */
export async function buildPorts(
  config: Config,
  logger: Logger,
  shared?: { bus?: MemoryBus; presence?: PresenceStore; db?: SqlDb; appendDb?: SqlDb; allowances?: AllowanceStore },
): Promise<Ports> {
  const db = shared?.db ?? (config.databaseUrl ? openPostgres(config.databaseUrl) : await openPglite(config.dataDir));
  await migrate(db);
  const keys = await rekeyNames(db);
  if (keys.rekeyed || keys.keptApart.length) {
    logger.warn(
      { rekeyed: keys.rekeyed, keptApart: keys.keptApart },
      'user names re-keyed for look-alikes; those kept apart are look-alikes of another user: check them',
    );
  }
  logger.info({ store: db.kind, dataDir: db.kind === 'pglite' ? config.dataDir : undefined }, 'database ready');
  let broker: Broker;
  let presence: PresenceStore;
  let allowances: AllowanceStore;
  // Sends commit on connections of their own (one per commit lane): reads never make them wait.
  const appendDb =
    db.kind === 'postgres' && config.databaseUrl && !shared?.db ? openPostgres(config.databaseUrl, { max: config.commitLanes }) : db;
  const sqlMessages = new SqlMessageStore(db, Date.now, appendDb);
  let messages: MessageStore = sqlMessages;
  let moderation: ModerationStore = new SqlModerationStore(db);
  let closeRedis = async () => {};
  if (config.redisUrl && !shared?.bus) {
    const [
      { connectRedis },
      { RedisKeys },
      { RedisBroker },
      { RedisPresenceStore },
      { RedisRecentWindow },
      { RedisSanctionCache },
      { RedisAllowances },
    ] = await Promise.all([
      import('./adapters/redis/connect.js'),
      import('./adapters/redis/keys.js'),
      import('./adapters/redis/redis-broker.js'),
      import('./adapters/redis/redis-presence-store.js'),
      import('./adapters/redis/redis-recent-window.js'),
      import('./adapters/redis/redis-sanction-cache.js'),
      import('./adapters/redis/redis-allowances.js'),
    ]);
    const redis = connectRedis(config.redisUrl, { name: `parley:${config.nodeId}:cmd` });
    const log = logger.child({ component: 'redis' });
    let lastErrorLog = 0;
    redis.on('error', (err: Error) => {
      // ioredis retries by itself; say so once every few seconds, not on every attempt.
      if (Date.now() - lastErrorLog > 5000) log.warn({ err: err.message }, 'redis connection error (retrying)');
      lastErrorLog = Date.now();
    });
    broker = new RedisBroker({
      url: config.redisUrl,
      prefix: config.redisPrefix,
      nodeId: config.nodeId,
      logger: log,
    });
    presence = new RedisPresenceStore({ redis, prefix: config.redisPrefix });
    const keys = new RedisKeys(config.redisPrefix);
    messages = new RedisRecentWindow(messages, redis, keys, (err) =>
      log.warn({ err }, 'recent-message window unavailable; serving history from the database'),
    );
    moderation = new RedisSanctionCache(moderation, redis, keys, (err) =>
      log.warn({ err }, 'sanction cache unavailable; reading the database'),
    );
    let lastAllowanceLog = 0;
    allowances = new RedisAllowances(redis, keys, (err) => {
      // Once every few seconds: every login and sign-up during an outage would say it.
      if (Date.now() - lastAllowanceLog < 5000) return;
      lastAllowanceLog = Date.now();
      log.warn({ err }, 'login and sign-up allowances unavailable; counting them on this node until Redis answers');
    });
    closeRedis = async () => {
      redis.disconnect();
    };
    logger.info({ mode: config.redisUrl.includes('+cluster') ? 'cluster' : 'standalone' }, 'redis adapters');
  } else {
    broker = new MemoryBroker(shared?.bus ?? new MemoryBus());
    presence = shared?.presence ?? new MemoryPresenceStore();
    allowances = shared?.allowances ?? new MemoryAllowances();
  }
  return {
    broker,
    presence,
    messages,
    channels: new SqlChannelStore(db),
    users: new SqlUserStore(db),
    moderation,
    admin: new SqlAdminStore(db),
    allowances,
    pingDb: async () => {
      await db.query('select 1', []);
    },
    optimisticRefused: () => sqlMessages.optimisticRefused,
    close: async () => {
      await broker.close();
      if (!shared?.presence) await presence.close();
      await closeRedis();
      if (appendDb !== db && !shared?.appendDb) await appendDb.close();
      if (!shared?.db) await db.close();
    },
  };
}
