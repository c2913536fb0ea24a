import { readdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrate } from '../src/adapters/sql/migrate.js';
import { SqlChannelStore } from '../src/adapters/sql/sql-channel-store.js';
import { BACKENDS } from './harness.js';
import { migratedBefore } from './migrated-before.js';

// Migration 012 on a database that already has memberships: the kept counts start from them.

describe.each(BACKENDS)('migration 012 (kept member counts) on %s', (backend) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('counts the memberships already there, then keeps counting', async () => {
    const db = await migratedBefore(backend, '012', cleanups);
    await db.exec(`
      INSERT INTO users (name, name_canon, password_hash) SELECT 'u' || g, 'u' || g, 'h' FROM generate_series(1, 30) g;
      INSERT INTO channels (name) VALUES ('big'), ('small'), ('empty');
      INSERT INTO memberships (cid, user_id, role) SELECT c.id, u.id, 1 FROM channels c, users u WHERE c.name = 'big';
      INSERT INTO memberships (cid, user_id, role) SELECT c.id, u.id, 1 FROM channels c, users u WHERE c.name = 'small' AND u.id % 10 = 0;
    `);
    expect(await migrate(db)).toEqual((await readdir(MIGRATIONS_DIR)).filter((f) => f >= '012').sort());
    const store = new SqlChannelStore(db);
    const { channels } = await store.list();
    expect(channels.map((c) => [c.name, c.members])).toEqual([
      ['big', 30],
      ['empty', 0],
      ['small', 3],
    ]);
    const small = channels.find((c) => c.name === 'small')!.cid;
    const [u] = await db.query<{ id: number }>("SELECT id FROM users WHERE name = 'u1'");
    await store.join(small, u!.id, 1);
    expect((await store.members(small)).total).toBe(4);
    // Many rows in one statement (an operator's import), and many out in one (a purge).
    await db.exec(
      `INSERT INTO memberships (cid, user_id, role) SELECT c.id, u.id, 1 FROM channels c, users u WHERE c.name = 'empty' AND u.id % 2 = 0`,
    );
    await db.exec(`DELETE FROM memberships m USING channels c WHERE m.cid = c.id AND c.name IN ('big', 'empty') AND m.user_id % 3 = 0`);
    const after = await store.list();
    expect(after.channels.map((c) => [c.name, c.members])).toEqual([
      ['big', 20],
      ['empty', 10],
      ['small', 4],
    ]);
  });
});
