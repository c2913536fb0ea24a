import { NAME_KEY_VERSION, nameKey } from '../../core/names.js';
import type { SqlDb } from './db.js';

// Any constant shared by every gateway; it only has to differ from the other advisory locks.
const REKEY_LOCK = 0x6e6b6579; // "nkey"

/**
 * Brings the stored look-alike keys (`users.name_canon`) up to this release's `nameKey` when they
 * were computed by an older one (migration 016 records the version). Only names with a non-ASCII
 * character can change. A name whose new key another user already holds keeps its old key: the
 * two stay apart (no name is taken from anyone), and are returned for the operator to look at.
 * One transaction; concurrent gateways wait on an advisory lock and then find nothing to do.
 */
export async function rekeyNames(db: SqlDb): Promise<{ rekeyed: number; keptApart: string[] }> {
  return db.tx(async (q) => {
    if (db.kind === 'postgres') await q.query('SELECT pg_advisory_xact_lock($1)', [REKEY_LOCK]);
    const [row] = await q.query<{ version: number }>('SELECT version FROM name_key_version');
    if ((row?.version ?? 0) >= NAME_KEY_VERSION) return { rekeyed: 0, keptApart: [] };
    const users = await q.query<{ id: number; name: string; name_canon: string }>(
      'SELECT id, name, name_canon FROM users WHERE octet_length(name) <> char_length(name) ORDER BY id',
    );
    let rekeyed = 0;
    const keptApart: string[] = [];
    for (const u of users) {
      const key = nameKey(u.name);
      if (key === u.name_canon) continue;
      const [held] = await q.query('SELECT 1 FROM users WHERE name_canon = $1 AND id <> $2', [key, u.id]);
      if (held) keptApart.push(u.name);
      else {
        await q.query('UPDATE users SET name_canon = $1 WHERE id = $2', [key, u.id]);
        rekeyed++;
      }
    }
    await q.query('UPDATE name_key_version SET version = $1', [NAME_KEY_VERSION]);
    return { rekeyed, keptApart };
  });
}
