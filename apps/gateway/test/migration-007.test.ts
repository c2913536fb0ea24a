import { readdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrate } from '../src/adapters/sql/migrate.js';
import { SqlUserStore } from '../src/adapters/sql/sql-user-store.js';
import { nameKey } from '../src/core/names.js';
import { BACKENDS } from './harness.js';
import { migratedBefore } from './migrated-before.js';

// Migration 007 on a database that already has users, look-alikes among them (issue 10, item 5).

describe.each(BACKENDS)('migration 007 (look-alike classes) on %s', (backend) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('backfills every name with nameKey; the first holder of a class keeps it (accounts first), the others keep their names under a class of their own', async () => {
    const db = await migratedBefore(backend, '007', cleanups);
    const names: [string, boolean][] = [
      ['al1ce', true], // a guest, oldest
      ['alice', false],
      ['Alice', false],
      ['aIice', false],
      ['rn0_vv.x-Y', false],
      ['bob', true],
    ];
    for (const [name, guest] of names) {
      await db.query('INSERT INTO users (name, guest, password_hash) VALUES ($1, $2, $3)', [name, guest, guest ? null : 'h']);
    }
    expect(await migrate(db)).toEqual((await readdir(MIGRATIONS_DIR)).filter((f) => f >= '007').sort());
    const rows = await db.query<{ id: number; name: string; name_canon: string }>('SELECT id, name, name_canon FROM users ORDER BY id');
    const canon = Object.fromEntries(rows.map((r) => [r.name, r.name_canon]));
    const id = Object.fromEntries(rows.map((r) => [r.name, r.id]));
    // The SQL expression and nameKey agree on every (ASCII) name.
    expect(canon.alice).toBe(nameKey('alice'));
    expect(canon['rn0_vv.x-Y']).toBe(nameKey('rn0_vv.x-Y'));
    expect(canon.bob).toBe(nameKey('bob'));
    expect(canon.Alice).toBe(`${nameKey('Alice')}#${id.Alice}`);
    expect(canon.aIice).toBe(`${nameKey('aIice')}#${id.aIice}`);
    expect(canon.al1ce).toBe(`${nameKey('al1ce')}#${id.al1ce}`);
    // Everyone can still log in by their exact name; nobody new can take any of these classes.
    const users = new SqlUserStore(db);
    for (const n of ['alice', 'Alice', 'aIice']) expect(await users.byName(n), n).toMatchObject({ name: n, guest: false });
    for (const n of ['ALICE', 'a1ice', 'Alice', 'al1ce']) expect(await users.createAccount(n, 'h'), n).toBeNull();
    expect(await users.claimGuest('aIice', 't')).toBeNull();
  }, 120_000); // PGlite's first open takes a while on a loaded machine
});
