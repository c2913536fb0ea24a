import { describe, expect, it } from 'vitest';
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
const peerOf = new WeakMap<StoreSet, () => Promise<SqlDb>>();
/** A connection pool of its own on the set's database (another node). */
const peerDb = (set: StoreSet): Promise<SqlDb> => (peerOf.get(set) as () => Promise<SqlDb>)();

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
  peerOf.set(set, peer);
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

describe('SqlMessageStore on postgres: a message alone in its commit (one statement, no PL/pgSQL)', () => {
  it('reports a retried copy committed while it waited for the channel lock as a duplicate, not an error', async () => {
    const set = await postgres();
    try {
      const u = (await set.users.createAccount(`u${Date.now()}`, 'h'))!;
      const ch = (await set.channels.create(`c${Date.now()}`, u.id))!;
      const item = { cid: ch.cid, userId: u.id, user: u.name, text: 'hi', cmid: 'r1' };
      // Another node's copy of the same send holds the channel row, uncommitted, while ours starts:
      // our statement's snapshot misses it, our UPDATE waits for it, our INSERT then hits the cmid key.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let lockTaken!: () => void;
      const locked = new Promise<void>((r) => (lockTaken = r));
      const theirs = peerDb(set).then((peerDb) =>
        peerDb.tx(async (t) => {
          const [r] = await t.query<{ seq: number }>(
            'SELECT seq FROM parley_append($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint)',
            [[ch.cid], [u.id], [u.name], ['hi'], ['r1'], Date.now()],
          );
          lockTaken();
          await held;
          return r!.seq;
        }),
      );
      await locked;
      const ours = set.messages.appendBatch([item]);
      await new Promise((r) => setTimeout(r, 200)); // ours is now waiting for the row lock
      release();
      const seq = await theirs;
      expect(await ours).toEqual([{ seq, ts: expect.any(Number), duplicate: true }]);
      expect(await set.messages.lastSeq(ch.cid)).toBe(seq);
      const [next] = await set.messages.appendBatch([{ ...item, cmid: 'r2' }]);
      expect(next!.seq).toBe(seq + 1); // no seq was consumed by the refused copy
    } finally {
      await set.close();
    }
  });
});
