import { nameKey } from '../../core/names.js';
import type { User, UserStore } from '../../ports/user-store.js';
import type { SqlDb } from './db.js';

interface UserRow {
  id: number;
  name: string;
  guest: boolean;
  password_hash: string | null;
  token_epoch: number;
}

const COLS = 'id, name, guest, password_hash, token_epoch';
const toUser = (r: UserRow): User => ({ id: r.id, name: r.name, guest: r.guest, tokenEpoch: r.token_epoch });

/**
 * A unique violation on the plain name: a row kept from before migration 007 under a look-alike
 * of a class holder (its own class is "<class>#<id>") has exactly this name. Same answer: taken.
 */
const nameClash = (err: unknown): null => {
  if (/users_name_key/.test(String((err as Error)?.message))) return null;
  throw err;
};

/**
 * UserStore on SQL. Accounts and guests live in one table; the unique index on `name_canon`
 * (the name's look-alike class, migration 007) is the shared namespace. Times are the database
 * clock, so every gateway reaps against the same "now".
 */
export class SqlUserStore implements UserStore {
  constructor(private readonly db: SqlDb) {}

  createAccount(name: string, passwordHash: string): Promise<User | null> {
    return this.oneUser(
      `INSERT INTO users (name, name_canon, password_hash, guest) VALUES ($1, $2, $3, false)
       ON CONFLICT (name_canon) DO NOTHING RETURNING ${COLS}`,
      [name, nameKey(name), passwordHash],
    ).catch(nameClash);
  }

  /** One statement (a connect burst costs one round trip per guest): who holds the name, touched if it is this token's guest. */
  async openGuest(name: string, tid: string): Promise<User | 'free' | 'taken' | 'account' | 'revoked'> {
    const rows = await this.db.query<Partial<UserRow> & { held_guest: boolean | null; revoked: boolean }>(
      `WITH revoked AS (SELECT EXISTS (SELECT 1 FROM revoked_guests WHERE tid = $2 AND until > now()) AS revoked),
       hit AS (
         SELECT id, guest, guest_tid FROM users WHERE name_canon = $1 OR name = $3 ORDER BY (name_canon = $1) DESC LIMIT 1
       ), upd AS (
         UPDATE users u SET last_seen_at = now() FROM hit
         WHERE u.id = hit.id AND hit.guest AND hit.guest_tid = $2 RETURNING ${COLS.split(', ')
           .map((c) => `u.${c}`)
           .join(', ')}
       ) SELECT revoked.revoked, hit.guest AS held_guest, upd.* FROM revoked LEFT JOIN hit ON true LEFT JOIN upd ON true`,
      [nameKey(name), tid, name],
    );
    const r = rows[0];
    if (r?.revoked) return 'revoked';
    if (!r || r.held_guest === null) return 'free';
    if (typeof r.id === 'number') return toUser(r as UserRow);
    return r.held_guest ? 'taken' : 'account';
  }

  /** One statement: insert the guest, or touch the guest row this token created; anyone else's row is left alone (no row back). */
  async claimGuest(name: string, tid: string): Promise<User | null> {
    const claim = () =>
      this.oneUser(
        `INSERT INTO users (name, name_canon, guest, guest_tid) VALUES ($1, $2, true, $3)
         ON CONFLICT (name_canon) DO UPDATE SET last_seen_at = now() WHERE users.guest AND users.guest_tid = $3
         RETURNING ${COLS}`,
        [name, nameKey(name), tid],
      );
    try {
      return await claim();
    } catch (err) {
      // Two claims of one new name at once: both pass ON CONFLICT's check, and the later one then
      // trips the other unique index (users_name_key), which ON CONFLICT (name_canon) does not
      // arbitrate. Once more, now that the first has committed, takes the ON CONFLICT path.
      if (!/users_name_key/.test(String((err as Error)?.message))) throw err;
      return claim().catch(nameClash);
    }
  }

  openAccount(id: number): Promise<User | null> {
    return this.oneUser(`UPDATE users SET last_seen_at = now() WHERE id = $1 AND NOT guest RETURNING ${COLS}`, [id]);
  }

  async byName(name: string): Promise<(User & { passwordHash: string | null }) | null> {
    const rows = await this.db.query<UserRow>(
      `SELECT ${COLS} FROM users WHERE name_canon = $1 OR name = $2 ORDER BY (name = $2) DESC LIMIT 1`,
      [nameKey(name), name],
    );
    const r = rows[0];
    return r ? { ...toUser(r), passwordHash: r.password_hash } : null;
  }

  /** The user a one-row statement returned, or null when it returned none. */
  private async oneUser(sql: string, params: readonly unknown[]): Promise<User | null> {
    const r = (await this.db.query<UserRow>(sql, params))[0];
    return r ? toUser(r) : null;
  }

  async touch(userIds: readonly number[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.db.query('UPDATE users SET last_seen_at = now() WHERE id = ANY($1::bigint[])', [userIds]);
  }

  /**
   * Deletes guests not seen for `olderThanMs` (one that never connected counts from creation).
   * Their messages stay with `author` and a null user_id (set here: messages.user_id has no
   * foreign key, see migration 004); their memberships, reactions and sanctions go with them
   * (ON DELETE CASCADE).
   */
  async reapGuests(olderThanMs: number): Promise<number> {
    const rows = await this.db.query<{ n: number }>(
      `WITH d AS (
         DELETE FROM users WHERE guest AND last_seen_at < now() - $1::bigint * interval '1 millisecond'
         RETURNING id
       ), m AS (
         UPDATE messages SET user_id = NULL WHERE user_id IN (SELECT id FROM d)
       ), r AS (
         DELETE FROM revoked_guests WHERE until < now()
       ) SELECT count(*) AS n FROM d`,
      [Math.floor(olderThanMs)],
    );
    return rows[0]?.n ?? 0;
  }
}
