import { Role } from '@parley/protocol';
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

describe.each([
  ['pglite', pglite],
  ['postgres', postgres],
] as const)('member counts on %s are kept through every way a membership comes or goes (migration 012)', (_name, factory) => {
  it('join, rejoin, leave, setRole, kick, ban, a deleted account, a reaped guest, a deleted channel', async () => {
    const set = await factory();
    const db = dbOf.get(set) as SqlDb;
    const admin = new SqlAdminStore(db);
    const counted = async (cid: number) => (await set.channels.members(cid, { limit: 1 })).total;
    const listed = async (name: string) => (await set.channels.list({ prefix: name })).channels.find((c) => c.name === name)?.members;
    const rows = async (cid: number) =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM channel_member_counts WHERE cid = $1', [cid]))[0]?.n;
    try {
      const tag = `mc${Date.now()}`;
      const owner = (await set.users.createAccount(`${tag}o`, 'h'))!;
      const ch = (await set.channels.create(`${tag}-room`, owner.id))!;
      const users = await Promise.all([1, 2, 3, 4].map(async (i) => (await set.users.createAccount(`${tag}u${i}`, 'h'))!));
      const guest = (await set.users.claimGuest(`${tag}g`, 'tid'))!;
      expect(await counted(ch.cid)).toBe(1); // its creator
      await set.channels.join(ch.cid, owner.id, Role.Member);
      for (const u of users) await set.channels.join(ch.cid, u.id, Role.Member);
      await set.channels.join(ch.cid, guest.id, Role.Guest);
      await set.channels.join(ch.cid, users[0]!.id, Role.Member); // a rejoin: no new membership
      expect([await counted(ch.cid), await listed(ch.name)]).toEqual([6, 6]);
      await set.channels.leave(ch.cid, users[0]!.id);
      await set.channels.leave(ch.cid, users[0]!.id); // nothing left to remove
      await set.channels.setRole(ch.cid, users[1]!.id, Role.Moderator); // a member's role: no change in count
      await set.channels.setRole(ch.cid, users[0]!.id, Role.Member); // a non-member made a member
      expect(await counted(ch.cid)).toBe(6);
      const act = (target: { id: number; name: string }, change: Parameters<typeof set.moderation.act>[0]['change']) =>
        set.moderation.act(
          { cid: ch.cid, actorId: owner.id, actor: owner.name, targetId: target.id, target: target.name, change },
          () => {},
        );
      await act(users[1]!, { kind: 'kick', reason: null });
      await act(users[2]!, { kind: 'ban', until: null, durationMs: null, reason: null });
      expect(await counted(ch.cid)).toBe(4);
      expect(await admin.deleteUser(users[3]!.id)).toBe(true); // the cascade from users
      await db.query("UPDATE users SET last_seen_at = now() - interval '1 hour' WHERE id = $1", [guest.id]);
      expect(await set.users.reapGuests(60_000)).toBeGreaterThanOrEqual(1);
      expect([await counted(ch.cid), await listed(ch.name)]).toEqual([2, 2]);
      const [truth] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM memberships WHERE cid = $1', [ch.cid]);
      expect(truth!.n).toBe(2);
      expect((await admin.channels({ after: ch.cid - 1, limit: 1 }))[0]?.members).toBe(2);
      await set.moderation.deleteChannel(ch.cid, 'operator');
      expect(await rows(ch.cid)).toBe(0); // the deleted channel's rows went with it
    } finally {
      await set.close();
    }
  });

  it('exact under concurrent joins and leaves from several connections', async () => {
    const set = await factory();
    try {
      const tag = `mcc${Date.now()}`;
      const owner = (await set.users.createAccount(`${tag}o`, 'h'))!;
      const ch = (await set.channels.create(`${tag}-busy`, owner.id))!;
      const users = await Promise.all(Array.from({ length: 40 }, async (_, i) => (await set.users.createAccount(`${tag}u${i}`, 'h'))!));
      const stores = await Promise.all([0, 1, 2, 3].map(async () => new SqlChannelStore(await peerDb(set))));
      await Promise.all(users.map((u, i) => (stores[i % 4] as SqlChannelStore).join(ch.cid, u.id, Role.Member)));
      await Promise.all(users.slice(0, 15).map((u, i) => (stores[(i + 1) % 4] as SqlChannelStore).leave(ch.cid, u.id)));
      expect((await set.channels.members(ch.cid, { limit: 1 })).total).toBe(26); // 25 and the creator
    } finally {
      await set.close();
    }
  });
});
