import { openPglite, openPostgres, type SqlDb } from '../src/adapters/sql/db.js';
import { migrate } from '../src/adapters/sql/migrate.js';
import { SqlAdminStore } from '../src/adapters/sql/sql-admin-store.js';
import { SqlChannelStore } from '../src/adapters/sql/sql-channel-store.js';
import { SqlMessageStore } from '../src/adapters/sql/sql-message-store.js';
import { SqlModerationStore } from '../src/adapters/sql/sql-moderation-store.js';
import { SqlUserStore } from '../src/adapters/sql/sql-user-store.js';
import { describeAdminStoreContract } from './contracts/admin-store.contract.js';
import { describeChannelStoreContract } from './contracts/channel-store.contract.js';
import { describeMessageStoreContract } from './contracts/message-store.contract.js';
import { describeModerationStoreContract } from './contracts/moderation-store.contract.js';
import type { StoreFactory, StoreSet } from './contracts/store-set.js';
import { describeUserStoreContract } from './contracts/user-store.contract.js';
import { provisionPostgres } from './services.js';

const dbOf = new WeakMap<StoreSet, SqlDb>();

function sqlStores(db: SqlDb, peer: () => Promise<SqlDb>, close: () => Promise<void>): StoreSet {
  const set: StoreSet = {
    messages: new SqlMessageStore(db),
    channels: new SqlChannelStore(db),
    users: new SqlUserStore(db),
    moderation: new SqlModerationStore(db),
    peer: async () => new SqlMessageStore(await peer()),
    close,
  };
  dbOf.set(set, db);
  return set;
}

// A migrated PGlite, dumped once per file: every store set starts from it in well under 1 s.
let template: Promise<Blob> | undefined;
async function migratedTemplate(): Promise<Blob> {
  const db = await openPglite('memory://');
  try {
    await migrate(db);
    return await db.dump();
  } finally {
    await db.close();
  }
}

/** PGlite in memory. Its single connection is shared: a "peer" is another store on the same db. */
const pglite: StoreFactory = async () => {
  template ??= migratedTemplate();
  const db = await openPglite('memory://', { template: await template });
  return sqlStores(
    db,
    async () => db,
    () => db.close(),
  );
};

/** A fresh database on the real server; every peer is its own connection pool, like a node. */
const postgres: StoreFactory = async () => {
  const pg = await provisionPostgres();
  const db = openPostgres(pg.url);
  const pools: SqlDb[] = [db];
  await migrate(db);
  return sqlStores(
    db,
    async () => {
      const p = openPostgres(pg.url, { max: 2 });
      pools.push(p);
      return p;
    },
    async () => {
      for (const p of pools) await p.close();
      await pg.drop();
    },
  );
};

for (const [name, factory] of [
  ['pglite', pglite],
  ['postgres', postgres],
] as const) {
  describeMessageStoreContract(name, factory);
  describeChannelStoreContract(name, factory);
  describeUserStoreContract(name, factory);
  describeModerationStoreContract(name, factory);
  describeAdminStoreContract(name, factory, (set) => new SqlAdminStore(dbOf.get(set) as SqlDb));
}
