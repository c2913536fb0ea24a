import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Role } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite, openPostgres, type SqlDb } from '../src/adapters/sql/db.js';
import { MIGRATIONS_DIR, migrate } from '../src/adapters/sql/migrate.js';
import { SqlChannelStore } from '../src/adapters/sql/sql-channel-store.js';
import {
  APPEND,
  APPEND_FRESH,
  APPEND_ONE,
  APPEND_ONE_FRESH,
  LOOKUP_HOLD_MS,
  SqlMessageStore,
} from '../src/adapters/sql/sql-message-store.js';
import { SqlUserStore } from '../src/adapters/sql/sql-user-store.js';
import { UnknownChannelError } from '../src/ports/message-store.js';
import { provisionPostgres } from './services.js';

// What the SQL adapters promise beyond the port contracts: SqlDb itself, migrations, PGlite on disk.

/** infra/migrations, in the order they apply. */
const ALL_MIGRATIONS = [
  '001_init.sql',
  '002_append_function.sql',
  '003_lean_append.sql',
  '004_messages_user_no_fk.sql',
  '005_reaction_order.sql',
  '006_token_epoch.sql',
  '007_name_keys_guest_tokens.sql',
  '008_channel_owner.sql',
  '009_append_small_batches.sql',
  '010_optimistic_append.sql',
  '011_send_fence.sql',
  '012_member_counts.sql',
  '013_reaction_fence.sql',
  '014_member_names.sql',
  '015_revoked_guests.sql',
  '016_name_key_version.sql',
];

async function exerciseSqlDb(db: SqlDb): Promise<void> {
  await db.exec('CREATE TABLE t (id bigint PRIMARY KEY, s text); CREATE TABLE t2 (x int);');
  await db.query('INSERT INTO t SELECT * FROM unnest($1::bigint[], $2::text[])', [
    [1, 2, 3],
    ['a', null, 'c'],
  ]);
  expect(await db.query('SELECT id, s FROM t WHERE id = ANY($1::bigint[]) ORDER BY id', [[1, 2]])).toEqual([
    { id: 1, s: 'a' },
    { id: 2, s: null },
  ]);
  // int8 arrives as a JS number (count(*) is bigint).
  expect(await db.query('SELECT count(*) AS n FROM t')).toEqual([{ n: 3 }]);
  await expect(
    db.tx(async (q) => {
      await q.query('INSERT INTO t VALUES (4, $1)', ['d']);
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  expect(await db.tx((q) => q.query('SELECT count(*) AS n FROM t'))).toEqual([{ n: 3 }]);
  // Statements from outside never land inside someone else's open transaction.
  const both = await Promise.allSettled([
    db.tx(async (q) => {
      await q.query('INSERT INTO t VALUES (5, $1)', ['e']);
      await new Promise((r) => setTimeout(r, 20));
      throw new Error('rolled back');
    }),
    db.query('INSERT INTO t VALUES (6, $1)', ['f']),
  ]);
  expect(both.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
  expect((await db.query<{ id: number }>('SELECT id FROM t ORDER BY id')).map((r) => r.id)).toEqual([1, 2, 3, 6]);
}

describe('SqlDb', () => {
  it('pglite: arrays, int8, rollback, isolation of a transaction', async () => {
    const db = await openPglite('memory://');
    try {
      await exerciseSqlDb(db);
    } finally {
      await db.close();
    }
  });

  it('postgres: arrays, int8, rollback, isolation of a transaction', async () => {
    const pg = await provisionPostgres();
    const db = openPostgres(pg.url);
    try {
      await exerciseSqlDb(db);
    } finally {
      await db.close();
      await pg.drop();
    }
  });
});

describe('migrate on postgres', () => {
  let pg: Awaited<ReturnType<typeof provisionPostgres>>;
  const pools: SqlDb[] = [];
  beforeAll(async () => {
    pg = await provisionPostgres();
  });
  afterAll(async () => {
    for (const p of pools) await p.close();
    await pg?.drop();
  });

  it('applies each migration once when several gateways start at the same time', async () => {
    for (let i = 0; i < 4; i++) pools.push(openPostgres(pg.url, { max: 1 }));
    const applied = await Promise.all(pools.map((p) => migrate(p)));
    expect(applied.flat()).toEqual(ALL_MIGRATIONS);
    expect(await migrate(pools[0]!)).toEqual([]);
    const rows = await pools[0]!.query<{ name: string }>('SELECT name FROM schema_migrations');
    expect(rows.map((r) => r.name)).toEqual(ALL_MIGRATIONS);
  });
});

/**
 * Before 008 the Owner role was a membership row's: an owner who left lost it. The migration
 * makes channels.owner_id the owner (backfilled from owner memberships) and memberships stop at
 * Moderator.
 */
describe.each(['pglite', 'postgres'] as const)('migration 008 (channel ownership) on %s', (backend) => {
  it('backfills owner_id from owner memberships; an owner who had left is the owner again, without sanctions', async () => {
    const before = await mkdtemp(join(tmpdir(), 'parley-mig-'));
    const pg = backend === 'postgres' ? await provisionPostgres() : null;
    const db = pg ? openPostgres(pg.url) : await openPglite('memory://');
    try {
      // The schema as it was before 007 (names) and 008: rows written by older gateways.
      for (const f of await readdir(MIGRATIONS_DIR)) if (f < '007') await copyFile(join(MIGRATIONS_DIR, f), join(before, f));
      await migrate(db, before);
      const id = async (name: string) =>
        (await db.query<{ id: number }>('INSERT INTO users (name) VALUES ($1) RETURNING id', [name]))[0]!.id;
      const [ann, bob, cy] = [await id('ann'), await id('bob'), await id('cy')];
      const ch = async (name: string, owner: number | null) =>
        (await db.query<{ id: number }>('INSERT INTO channels (name, owner_id) VALUES ($1, $2) RETURNING id', [name, owner]))[0]!.id;
      const kept = await ch('kept', ann); // the usual case: owner row agrees with owner_id
      const repaired = await ch('repaired', null); // an owner row without owner_id
      const left = await ch('left', ann); // the owner left and rejoined: a plain member row
      // The bug: a moderator banned the owner who had left, and muted a member.
      await db.query(
        "INSERT INTO sanctions (cid, user_id, kind, until, actor) VALUES ($1, $2, 'ban', NULL, 'm'), ($1, $3, 'mute', NULL, 'm')",
        [left, ann, cy],
      );
      await db.query('INSERT INTO memberships (cid, user_id, role) VALUES ($1, $2, 3), ($1, $3, 2), ($4, $3, 3), ($5, $2, 1)', [
        kept,
        ann,
        bob,
        repaired,
        left,
      ]);

      expect(await migrate(db)).toEqual(ALL_MIGRATIONS.filter((f) => f >= '007'));
      const owners = await db.query<{ name: string; owner_id: number | null }>('SELECT name, owner_id FROM channels ORDER BY name');
      expect(owners).toEqual([
        { name: 'kept', owner_id: ann },
        { name: 'left', owner_id: ann },
        { name: 'repaired', owner_id: bob },
      ]);
      expect(await db.query('SELECT count(*) AS n FROM memberships WHERE role > 2')).toEqual([{ n: 0 }]);
      // The owner's ban is void; the member's mute stays.
      expect(await db.query('SELECT user_id, kind FROM sanctions ORDER BY user_id')).toEqual([{ user_id: cy, kind: 'mute' }]);
      const channels = new SqlChannelStore(db);
      expect(await channels.role(kept, ann)).toBe(Role.Owner);
      expect(await channels.role(kept, bob)).toBe(Role.Moderator);
      expect(await channels.role(repaired, bob)).toBe(Role.Owner);
      expect(await channels.role(left, ann)).toBe(Role.Owner);
      expect(await channels.join(left, ann, Role.Member)).toBe(Role.Owner);
      expect(await channels.role(left, cy)).toBeNull();
    } finally {
      await db.close();
      await pg?.drop();
      await rm(before, { recursive: true, force: true });
    }
  });
});

describe('PGlite persisted to a data directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-pglite-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps messages, seqs and the schema across a restart', async () => {
    let db = await openPglite(dir);
    expect(await migrate(db)).toEqual(ALL_MIGRATIONS);
    const u = (await new SqlUserStore(db).createAccount('ann', 'h'))!;
    const ch = (await new SqlChannelStore(db).create('general', u.id))!;
    await new SqlMessageStore(db).appendBatch([
      { cid: ch.cid, userId: u.id, user: u.name, text: 'one', cmid: 'a' },
      { cid: ch.cid, userId: u.id, user: u.name, text: 'two', cmid: null },
    ]);
    await db.close();

    db = await openPglite(dir);
    try {
      expect(await migrate(db)).toEqual([]);
      const messages = new SqlMessageStore(db);
      expect(await messages.lastSeq(ch.cid)).toBe(2);
      const [retry] = await messages.appendBatch([{ cid: ch.cid, userId: u.id, user: u.name, text: 'one', cmid: 'a' }]);
      expect(retry).toMatchObject({ seq: 1, duplicate: true });
      const h = await messages.history(ch.cid, { before: null, after: null, limit: 10 });
      expect(h.messages.map((m) => m.text)).toEqual(['one', 'two']);
    } finally {
      await db.close();
    }
  });
});

describe('SqlMessageStore.appendBatch', () => {
  it('refuses a batch naming an unknown channel and stores none of it', async () => {
    const db = await openPglite('memory://');
    try {
      await migrate(db);
      const u = (await new SqlUserStore(db).createAccount('ann', 'h'))!;
      const ch = (await new SqlChannelStore(db).create('general', u.id))!;
      const messages = new SqlMessageStore(db);
      const ok = { cid: ch.cid, userId: u.id, user: u.name, text: 'hi', cmid: null };
      await expect(messages.appendBatch([ok, { ...ok, cid: 424242 }])).rejects.toBeInstanceOf(UnknownChannelError);
      expect(await messages.lastSeq(ch.cid)).toBe(0);
      expect((await messages.appendBatch([ok]))[0]!.seq).toBe(1);
    } finally {
      await db.close();
    }
  });
});

/**
 * Appends skip the lookup for earlier copies of a cmid until the unique index refuses one; then
 * the batch goes again through the statements that look, and so does every append for
 * LOOKUP_HOLD_MS. The statements sent are observed on the real database (not a stand-in).
 */
describe.each(['pglite', 'postgres'] as const)('SqlMessageStore optimistic appends on %s', (backend) => {
  it('stores a repeated cmid once, loses nothing of its batch, and looks for copies for a while after', async () => {
    const pg = backend === 'postgres' ? await provisionPostgres() : null;
    const db = pg ? openPostgres(pg.url) : await openPglite('memory://');
    try {
      await migrate(db);
      const u = (await new SqlUserStore(db).createAccount('ann', 'h'))!;
      const a = (await new SqlChannelStore(db).create('a', u.id))!.cid;
      const b = (await new SqlChannelStore(db).create('b', u.id))!.cid;
      const sent: string[] = [];
      const watched: SqlDb = {
        ...db,
        kind: db.kind,
        query: (text, params) => {
          sent.push(text);
          return db.query(text, params);
        },
      };
      let clock = 1_000_000;
      const messages = new SqlMessageStore(db, () => clock, watched);
      const msg = (cid: number, cmid: string | null) => ({ cid, userId: u.id, user: u.name, text: `t-${cmid}`, cmid });
      const take = () => sent.splice(0).map((t) => [APPEND, APPEND_FRESH, APPEND_ONE, APPEND_ONE_FRESH].indexOf(t));
      const [FULL, FRESH, ONE, ONE_FRESH] = [0, 1, 2, 3];

      const first = await messages.appendBatch([msg(a, 'x'), msg(b, 'y'), msg(a, 'z')]);
      expect(first.map((r) => [r.seq, r.duplicate])).toEqual([
        [1, false],
        [1, false],
        [2, false],
      ]);
      expect(await messages.appendBatch([msg(b, 'w')])).toMatchObject([{ seq: 2, duplicate: false }]);
      expect(take()).toEqual([FRESH, ONE_FRESH]);

      // 'y' again, between new ones: refused whole by the index, then stored through the lookup.
      const again = await messages.appendBatch([msg(a, 'p'), msg(b, 'y'), msg(b, 'q'), msg(a, null), msg(b, null)]);
      expect(take()).toEqual([FRESH, FULL]);
      expect(again).toEqual([
        { seq: 3, ts: clock, duplicate: false },
        { seq: 1, ts: first[1]!.ts, duplicate: true },
        { seq: 3, ts: clock, duplicate: false },
        { seq: 4, ts: clock, duplicate: false },
        { seq: 4, ts: clock, duplicate: false },
      ]);
      // Alone too, and while the hold lasts every append looks.
      clock += LOOKUP_HOLD_MS - 1;
      expect(await messages.appendBatch([msg(a, 'x')])).toEqual([{ seq: 1, ts: first[0]!.ts, duplicate: true }]);
      expect(await messages.appendBatch([msg(a, 'r'), msg(b, 's')])).toMatchObject([{ seq: 5 }, { seq: 5 }]);
      expect(take()).toEqual([ONE, FULL]);
      clock += LOOKUP_HOLD_MS - 1; // the repeat found above held it again
      await messages.appendBatch([msg(a, 'u')]);
      expect(take()).toEqual([ONE]);
      clock += LOOKUP_HOLD_MS;
      // A lone repeat on the optimistic statement: refused, then found.
      expect(await messages.appendBatch([msg(b, 'w')])).toEqual([{ seq: 2, ts: first[0]!.ts, duplicate: true }]);
      expect(take()).toEqual([ONE_FRESH, FULL]);
      clock += LOOKUP_HOLD_MS;
      expect(await messages.appendBatch([msg(a, 'v'), msg(a, 'v2')])).toMatchObject([{ seq: 7 }, { seq: 8 }]);
      expect(take()).toEqual([FRESH]);
      expect(messages.optimisticRefused).toBe(2); // the batch with 'y', the lone 'w'

      // Every seq once, none skipped, every cmid once.
      const rows = await db.query<{ cid: number; seq: number; cmid: string | null }>(
        'SELECT cid, seq, cmid FROM messages ORDER BY cid, seq',
      );
      expect(rows.filter((r) => r.cid === a).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(rows.filter((r) => r.cid === b).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
      const cmids = rows.flatMap((r) => (r.cmid ? [`${r.cid}/${r.cmid}`] : []));
      expect(new Set(cmids).size).toBe(cmids.length);
    } finally {
      await db.close();
      await pg?.drop();
    }
  });
});

describe('SqlUserStore.reapGuests', () => {
  it("nulls the reaped guests' user_id on their messages (no foreign key does it) and leaves others' alone", async () => {
    const db = await openPglite('memory://');
    try {
      await migrate(db);
      const users = new SqlUserStore(db);
      const owner = (await users.createAccount('owner', 'h'))!;
      const guest = (await users.claimGuest('passer-by', 'tid'))!;
      const ch = (await new SqlChannelStore(db).create('general', owner.id))!;
      const messages = new SqlMessageStore(db);
      await messages.appendBatch([
        { cid: ch.cid, userId: guest.id, user: guest.name, text: 'hi', cmid: 'a' },
        { cid: ch.cid, userId: owner.id, user: owner.name, text: 'hello', cmid: 'b' },
      ]);
      await new Promise((r) => setTimeout(r, 50));
      expect(await users.reapGuests(10)).toBe(1);
      const rows = await db.query<{ author: string; user_id: number | null }>('SELECT author, user_id FROM messages ORDER BY seq');
      expect(rows).toEqual([
        { author: 'passer-by', user_id: null },
        { author: 'owner', user_id: owner.id },
      ]);
    } finally {
      await db.close();
    }
  });
});
