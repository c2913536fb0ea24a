import { MemoryBroker, MemoryBus } from './adapters/memory/memory-broker.js';
import { MemoryPresenceStore } from './adapters/memory/memory-presence-store.js';
import { openPglite, openPostgres, type SqlDb } from './adapters/sql/db.js';
import { migrate } from './adapters/sql/migrate.js';
import { SqlChannelStore } from './adapters/sql/sql-channel-store.js';
import { SqlMessageStore } from './adapters/sql/sql-message-store.js';
import { SqlModerationStore } from './adapters/sql/sql-moderation-store.js';
import { SqlUserStore } from './adapters/sql/sql-user-store.js';
import type { Config } from './config.js';
import type { Ports } from './gateway.js';
import type { Logger } from './logger.js';
import type { Broker } from './ports/broker.js';
import type { PresenceStore } from './ports/presence-store.js';

/**
 * The composition root: picks adapters from config. DATABASE_URL → Postgres, else embedded
 * PGlite in PARLEY_DATA_DIR. The broker and presence are in-process for a single node; the
 * cluster adapters (Redis) plug in here through the same ports.
 * `shared` lets tests run several nodes in one process on one in-process bus.
 */
export async function buildPorts(
  config: Config,
  logger: Logger,
  shared?: { bus: MemoryBus; presence: PresenceStore; db?: SqlDb },
): Promise<Ports> {
  const db = shared?.db ?? (config.databaseUrl ? openPostgres(config.databaseUrl) : await openPglite(config.dataDir));
  await migrate(db);
  logger.info({ store: db.kind, dataDir: db.kind === 'pglite' ? config.dataDir : undefined }, 'database ready');
  if (config.redisUrl) logger.warn('REDIS_URL is set but the Redis adapters are not built yet: using the in-process broker');
  const broker: Broker = new MemoryBroker(shared?.bus ?? new MemoryBus());
  const presence = shared?.presence ?? new MemoryPresenceStore();
  return {
    broker,
    presence,
    messages: new SqlMessageStore(db),
    channels: new SqlChannelStore(db),
    users: new SqlUserStore(db),
    moderation: new SqlModerationStore(db),
    pingDb: async () => {
      await db.query('select 1', []);
    },
    close: async () => {
      await broker.close();
      if (!shared) {
        await presence.close();
        await db.close();
      }
    },
  };
}
