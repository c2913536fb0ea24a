import type { User, UserStore } from '../../ports/user-store.js';
import type { SqlDb } from './db.js';

interface UserRow {
  id: number;
  name: string;
  guest: boolean;
  password_hash: string | null;
  token_epoch: number;
}

const toUser = (r: UserRow): User => ({ id: r.id, name: r.name, guest: r.guest, tokenEpoch: r.token_epoch });

/**
 * UserStore on SQL. Accounts and guests live in one table whose UNIQUE(name) is the shared
 * namespace. Times are the database clock, so every gateway reaps against the same "now".
 */
export class SqlUserStore implements UserStore {
  constructor(private readonly db: SqlDb) {}

  createAccount(name: string, passwordHash: string): Promise<User | null> {
    return this.oneUser(
      `INSERT INTO users (name, password_hash, guest) VALUES ($1, $2, false)
       ON CONFLICT (name) DO NOTHING RETURNING id, name, guest, password_hash, token_epoch`,
      [name, passwordHash],
    );
  }

  /** One statement: insert the guest, or touch the existing guest; an account's row is left alone (no row back). */
  openGuest(name: string): Promise<User | null> {
    return this.oneUser(
      `INSERT INTO users (name, guest) VALUES ($1, true)
       ON CONFLICT (name) DO UPDATE SET last_seen_at = now() WHERE users.guest
       RETURNING id, name, guest, password_hash, token_epoch`,
      [name],
    );
  }

  openAccount(id: number): Promise<User | null> {
    return this.oneUser(
      'UPDATE users SET last_seen_at = now() WHERE id = $1 AND NOT guest RETURNING id, name, guest, password_hash, token_epoch',
      [id],
    );
  }

  async byName(name: string): Promise<(User & { passwordHash: string | null }) | null> {
    const rows = await this.db.query<UserRow>('SELECT id, name, guest, password_hash, token_epoch FROM users WHERE name = $1', [name]);
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
       ) SELECT count(*) AS n FROM d`,
      [Math.floor(olderThanMs)],
    );
    return rows[0]?.n ?? 0;
  }
}
