import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/adapters/sql/migrate.js';
import { rekeyNames } from '../src/adapters/sql/name-keys.js';
import { SqlUserStore } from '../src/adapters/sql/sql-user-store.js';
import { NAME_KEY_VERSION, nameKey } from '../src/core/names.js';
import { BACKENDS } from './harness.js';
import { migratedBefore } from './migrated-before.js';

// Keys stored by an older nameKey (migration 016 records which): re-keyed at start.

describe.each(BACKENDS)('re-keying stored names (migration 016) on %s', (backend) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("gives old look-alikes this release's key, keeps apart one whose key another user holds, once", async () => {
    const db = await migratedBefore(backend, '017', cleanups);
    // As version 1 keyed them: the Armenian օ (U+0585) was its own letter then.
    await db.exec(`
      INSERT INTO users (name, name_canon, password_hash) VALUES
        ('bob', 'bob', 'h'),
        ('b\u0585b', 'b\u0585b', 'h'),
        ('z\u0585e', 'z\u0585e', 'h'),
        ('Дима', '${nameKey('Дима')}', 'h');
    `);
    expect(await rekeyNames(db)).toEqual({ rekeyed: 1, keptApart: ['b\u0585b'] });
    const keys = Object.fromEntries(
      (await db.query<{ name: string; name_canon: string }>('SELECT name, name_canon FROM users')).map((r) => [r.name, r.name_canon]),
    );
    expect(keys).toMatchObject({ bob: 'bob', 'b\u0585b': 'b\u0585b', 'z\u0585e': 'zoe', Дима: nameKey('Дима') });
    expect(await db.query('SELECT version FROM name_key_version')).toEqual([{ version: NAME_KEY_VERSION }]);
    // The class is held now: "zoe" is taken by the re-keyed name.
    expect(await new SqlUserStore(db).createAccount('zoe', 'h')).toBeNull();
    // Once: the next start finds nothing to do.
    await db.exec("UPDATE users SET name_canon = 'stale' WHERE name = 'bob'");
    expect(await rekeyNames(db)).toEqual({ rekeyed: 0, keptApart: [] });
    expect(await migrate(db)).toEqual([]);
  });
});
