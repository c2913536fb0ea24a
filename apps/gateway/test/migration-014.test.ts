import { readdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../src/adapters/sql/db.js';
import { MIGRATIONS_DIR, migrate } from '../src/adapters/sql/migrate.js';
import { SqlChannelStore } from '../src/adapters/sql/sql-channel-store.js';
import { BACKENDS } from './harness.js';
import { migratedBefore } from './migrated-before.js';
import { provisionPostgres } from './services.js';

// Migration 014 on a database that already has memberships: each gets its member's name, and the
// database keeps the copy whoever writes (a previous release's gateway inserts memberships without it).

describe.each(BACKENDS)('migration 014 (member names on memberships) on %s', (backend) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('names the memberships already there, then every new one, and follows renames', async () => {
    const db = await migratedBefore(backend, '014', cleanups);
    await db.exec(`
      INSERT INTO users (name, name_canon, password_hash) SELECT 'u' || g, 'u' || g, 'h' FROM generate_series(1, 30) g;
      INSERT INTO channels (name) VALUES ('big'), ('later');
      INSERT INTO memberships (cid, user_id, role) SELECT c.id, u.id, 1 FROM channels c, users u WHERE c.name = 'big';
    `);
    expect(await migrate(db)).toEqual((await readdir(MIGRATIONS_DIR)).filter((f) => f >= '014').sort());
    const store = new SqlChannelStore(db);
    const [big, later] = (await store.list()).channels.map((c) => c.cid) as [number, number];
    const byName = [...Array.from({ length: 30 }, (_, i) => `u${i + 1}`)].sort();
    const page = await store.members(big, { limit: 10 });
    expect(page).toMatchObject({ more: true, total: 30 });
    expect(page.members.map((m) => m.user)).toEqual(byName.slice(0, 10));
    expect((await store.members(big, { after: byName[9], limit: 100 })).members.map((m) => m.user)).toEqual(byName.slice(10));

    // Inserted without a name, as a previous release's gateway does (many in one statement), and
    // through this release's store.
    await db.exec(
      `INSERT INTO memberships (cid, user_id, role) SELECT c.id, u.id, 1 FROM channels c, users u WHERE c.name = 'later' AND u.id % 2 = 0`,
    );
    const [u1] = await db.query<{ id: number }>("SELECT id FROM users WHERE name = 'u1'");
    await store.join(later, u1!.id, 1);
    expect((await store.members(later, { limit: 100 })).members.map((m) => m.user)).toEqual(
      byName.filter((n) => n === 'u1' || Number(n.slice(1)) % 2 === 0),
    );

    // A rename (the admin API's UPDATE) moves the user in both channels; a change of anything else does not touch them.
    await db.exec("UPDATE users SET name = 'zed', name_canon = 'zed' WHERE name = 'u1'");
    await db.exec("UPDATE users SET last_seen_at = now() WHERE name = 'u2'");
    for (const cid of [big, later]) {
      const names = (await store.members(cid, { limit: 100 })).members.map((m) => m.user);
      expect(names.at(-1)).toBe('zed');
      expect(names).not.toContain('u1');
      expect(names).toContain('u2');
    }
    const [stale] = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.user_name <> u.name',
    );
    expect(stale?.n).toBe(0);

    // A membership of no user is still the foreign key's to refuse.
    await expect(db.exec(`INSERT INTO memberships (cid, user_id, role) VALUES (${big}, 987654321, 1)`)).rejects.toThrow(/foreign key/);
  });
});

// Two connections: PGlite has one.
describe('migration 014: a join racing a rename (postgres)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('a join that read the name while a rename was in flight ends with the new name', async () => {
    const pg = await provisionPostgres();
    cleanups.push(pg.drop);
    const renamer = openPostgres(pg.url);
    const joiner = openPostgres(pg.url);
    cleanups.push(
      () => renamer.close(),
      () => joiner.close(),
    );
    await migrate(renamer);
    await renamer.exec(`
      INSERT INTO users (name, name_canon, password_hash) VALUES ('before', 'before', 'h');
      INSERT INTO channels (name) VALUES ('room');
    `);
    const [{ uid, cid }] = (await renamer.query<{ uid: number; cid: number }>(
      "SELECT (SELECT id FROM users WHERE name = 'before') AS uid, (SELECT id FROM channels WHERE name = 'room') AS cid",
    )) as [{ uid: number; cid: number }];
    let commit = (): void => {};
    const held = new Promise<void>((r) => {
      commit = r;
    });
    let renamed = (): void => {};
    const renaming = new Promise<void>((r) => {
      renamed = r;
    });
    const rename = renamer.tx(async (q) => {
      await q.query("UPDATE users SET name = 'after', name_canon = 'after' WHERE id = $1", [uid]);
      renamed();
      await held;
    });
    await renaming;
    // The join reads 'before' (the rename is not committed), then its foreign key check waits
    // for the rename's row lock.
    let joined = false;
    const join = new SqlChannelStore(joiner).join(cid, uid, 1).then(() => {
      joined = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(joined).toBe(false);
    commit();
    await Promise.all([rename, join]);
    expect(await joiner.query('SELECT user_name FROM memberships WHERE cid = $1 AND user_id = $2', [cid, uid])).toEqual([
      { user_name: 'after' },
    ]);
    expect((await new SqlChannelStore(joiner).members(cid)).members.map((m) => m.user)).toEqual(['after']);
  });
});
