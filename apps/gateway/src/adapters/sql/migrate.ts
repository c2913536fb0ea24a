import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gatewayFile } from '../../paths.js';
import type { SqlDb } from './db.js';

/** The repository's `infra/migrations` directory. */
export const MIGRATIONS_DIR = gatewayFile('..', '..', 'infra', 'migrations');

// Any constant shared by every gateway; it only has to differ from other advisory locks.
const MIGRATE_LOCK = 0x7061726c; // "parl"

/**
 * Applies every `NNN_name.sql` in `dir` not yet recorded in `schema_migrations`, in file-name
 * order, all in ONE transaction: a failing migration leaves the schema as it was.
 *
 * Safe when several gateways start at once against one Postgres: the transaction first takes a
 * transaction-scoped advisory lock, so the others wait, then see the rows it recorded and apply
 * nothing. PGlite has one connection per process (and its data directory is not shared), so no
 * lock is needed there. Returns the names applied.
 */
export async function migrate(db: SqlDb, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => /^\d+_.*\.sql$/.test(f)).sort();
  const scripts = await Promise.all(files.map(async (f) => ({ name: f, sql: await readFile(join(dir, f), 'utf8') })));
  return db.tx(async (q) => {
    if (db.kind === 'postgres') await q.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
    // Created under the lock: two concurrent CREATE ... IF NOT EXISTS can still collide.
    await q.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await q.query<{ name: string }>('SELECT name FROM schema_migrations')).map((r) => r.name));
    const applied: string[] = [];
    for (const s of scripts) {
      if (done.has(s.name)) continue;
      await q.exec(s.sql);
      await q.query('INSERT INTO schema_migrations (name) VALUES ($1)', [s.name]);
      applied.push(s.name);
    }
    return applied;
  });
}
