import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPglite, openPostgres, type SqlDb } from '../src/adapters/sql/db.js';
import { MIGRATIONS_DIR, migrate } from '../src/adapters/sql/migrate.js';
import type { Backend } from './harness.js';
import { provisionPostgres } from './services.js';

/**
 * A fresh database of `backend` with the migrations before `first` applied (e.g. '012': 001–011),
 * to test a migration on data written by the schema before it. Its cleanups go to `cleanups`.
 */
export async function migratedBefore(backend: Backend, first: string, cleanups: (() => Promise<unknown>)[]): Promise<SqlDb> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-mig-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const before = join(dir, 'migrations');
  await mkdir(before);
  for (const f of await readdir(MIGRATIONS_DIR)) if (f < first) await copyFile(join(MIGRATIONS_DIR, f), join(before, f));
  let db: SqlDb;
  if (backend === 'postgres') {
    const pg = await provisionPostgres();
    db = openPostgres(pg.url);
    cleanups.push(pg.drop);
  } else db = await openPglite(join(dir, 'data'));
  cleanups.push(() => db.close());
  await migrate(db, before);
  return db;
}
