import type { Role } from '@parley/protocol';
import type { AdminStore, ChannelRecord, MessageCursor, UserDetail, UserMessage, UserRecord } from '../../ports/admin-store.js';
import type { SqlDb } from './db.js';

const USER_COLS = `id, name, guest,
  (extract(epoch FROM created_at) * 1000)::bigint AS "createdAt",
  (extract(epoch FROM last_seen_at) * 1000)::bigint AS "lastSeenAt"`;

/** A LIKE pattern matching names that start with `prefix`, taken literally. */
const startsWith = (prefix: string): string => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** AdminStore on SQL: one statement per call. */
export class SqlAdminStore implements AdminStore {
  constructor(private readonly db: SqlDb) {}

  users(q: { after: number; limit: number; prefix: string | null; guest: boolean | null }): Promise<UserRecord[]> {
    return this.db.query<UserRecord>(
      `SELECT ${USER_COLS} FROM users
       WHERE id > $1 AND ($2::text IS NULL OR name LIKE $2) AND ($3::boolean IS NULL OR guest = $3)
       ORDER BY id LIMIT $4`,
      [q.after, q.prefix === null ? null : startsWith(q.prefix), q.guest, q.limit],
    );
  }

  async user(id: number): Promise<UserDetail | null> {
    const [u] = await this.db.query<UserRecord>(`SELECT ${USER_COLS} FROM users WHERE id = $1`, [id]);
    if (!u) return null;
    const channels = await this.db.query<{ cid: number; name: string; role: Role }>(
      'SELECT c.id AS cid, c.name, m.role FROM memberships m JOIN channels c ON c.id = m.cid WHERE m.user_id = $1 ORDER BY c.name',
      [id],
    );
    return { ...u, channels };
  }

  userMessages(id: number, q: { before: MessageCursor | null; limit: number }): Promise<UserMessage[]> {
    const b = q.before;
    return this.db.query<UserMessage>(
      `SELECT m.cid, c.name AS channel, m.seq, m.text, m.ts
       FROM messages m JOIN channels c ON c.id = m.cid
       WHERE m.user_id = $1 AND ($2::bigint IS NULL OR (m.ts, m.cid, m.seq) < ($2::bigint, $3::bigint, $4::bigint))
       ORDER BY m.ts DESC, m.cid DESC, m.seq DESC LIMIT $5`,
      [id, b?.ts ?? null, b?.cid ?? null, b?.seq ?? null, q.limit],
    );
  }

  async rename(id: number, name: string): Promise<UserRecord | 'taken' | null> {
    const rows = await this.db.query<UserRecord & { taken: boolean }>(
      `WITH clash AS (SELECT 1 FROM users WHERE name = $2 AND id <> $1),
       upd AS (UPDATE users SET name = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM clash) RETURNING ${USER_COLS})
       SELECT *, false AS taken FROM upd
       UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, true FROM clash`,
      [id, name],
    );
    const r = rows[0];
    if (!r) return null;
    if (r.taken) return 'taken';
    return { id: r.id, name: r.name, guest: r.guest, createdAt: r.createdAt, lastSeenAt: r.lastSeenAt };
  }

  async setPassword(id: number, passwordHash: string): Promise<UserRecord | 'guest' | null> {
    const [r] = await this.db.query<UserRecord>(
      `UPDATE users SET password_hash = $2, token_epoch = token_epoch + 1 WHERE id = $1 AND NOT guest RETURNING ${USER_COLS}`,
      [id, passwordHash],
    );
    if (r) return r;
    return (await this.db.query('SELECT 1 FROM users WHERE id = $1', [id])).length ? 'guest' : null;
  }

  async deleteUser(id: number): Promise<boolean> {
    // messages.user_id has no foreign key (migration 004): null it in the same statement.
    const rows = await this.db.query<{ n: number }>(
      `WITH d AS (DELETE FROM users WHERE id = $1 RETURNING id),
       m AS (UPDATE messages SET user_id = NULL WHERE user_id IN (SELECT id FROM d))
       SELECT count(*) AS n FROM d`,
      [id],
    );
    return (rows[0]?.n ?? 0) > 0;
  }

  channels(q: { after: number; limit: number }): Promise<ChannelRecord[]> {
    return this.db.query<ChannelRecord>(
      `SELECT c.id AS cid, c.name, u.name AS owner, c.last_seq AS "lastSeq",
         (extract(epoch FROM c.created_at) * 1000)::bigint AS "createdAt",
         (SELECT count(*) FROM memberships m WHERE m.cid = c.id) AS members
       FROM channels c LEFT JOIN users u ON u.id = c.owner_id
       WHERE c.id > $1 ORDER BY c.id LIMIT $2`,
      [q.after, q.limit],
    );
  }
}
