import type { Role } from '@parley/protocol';
import { nameKey } from '../../core/names.js';
import type { AdminStore, ChannelRecord, MessageCursor, UserDetail, UserMessage, UserRecord } from '../../ports/admin-store.js';
import { GUEST_TOKEN_TTL_S } from '../../ports/user-store.js';
import type { SqlDb } from './db.js';
import { effectiveRoleSql, MEMBER_COUNT } from './sql-channel-store.js';

const USER_COLS = `id, name, guest,
  (extract(epoch FROM created_at) * 1000)::bigint AS "createdAt",
  (extract(epoch FROM last_seen_at) * 1000)::bigint AS "lastSeenAt"`;

/** A LIKE pattern matching names that start with `prefix`, taken literally. */
const startsWith = (prefix: string): string => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** AdminStore on SQL: one statement per call. */
export class SqlAdminStore implements AdminStore {
  constructor(private readonly db: SqlDb) {}

  async userCounts(): Promise<{ registered: number; guests: number }> {
    const rows = await this.db.query<{ registered: number; guests: number }>(
      'SELECT count(*) FILTER (WHERE NOT guest) AS registered, count(*) FILTER (WHERE guest) AS guests FROM users',
    );
    return rows[0] ?? { registered: 0, guests: 0 };
  }

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
      `SELECT c.id AS cid, c.name, ${effectiveRoleSql('c.owner_id', 'm.user_id', 'm.role')} AS role
       FROM memberships m JOIN channels c ON c.id = m.cid WHERE m.user_id = $1 ORDER BY c.name`,
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

  async update(id: number, change: { name?: string; passwordHash?: string }): Promise<UserRecord | 'taken' | 'guest' | null> {
    const name = change.name ?? null;
    const hash = change.passwordHash ?? null;
    // One statement: the checks and the change see the same snapshot, and nothing changes unless
    // every part can (a name taken by a concurrent commit still fails the UNIQUE: 'taken' below).
    // Taken = held by another user, or a look-alike of another user's name (core/names.ts).
    type Row = Partial<UserRecord> & { found: boolean; guestTarget: boolean | null; taken: boolean };
    const rows = await this.db
      .query<Row>(
        `WITH target AS (SELECT guest FROM users WHERE id = $1),
         clash AS (SELECT 1 FROM users WHERE $2::text IS NOT NULL AND (name_canon = $4 OR name = $2) AND id <> $1),
         upd AS (
           UPDATE users u SET name = coalesce($2, u.name), name_canon = coalesce($4, u.name_canon),
             password_hash = coalesce($3, u.password_hash),
             -- A new password or a new name ends every token issued before, for good: a token
             -- carries the name too, but checking that alone let it back in after a rename back.
             token_epoch = u.token_epoch + (CASE WHEN $3::text IS NOT NULL OR $2::text <> u.name THEN 1 ELSE 0 END)
           WHERE u.id = $1 AND NOT EXISTS (SELECT 1 FROM clash) AND ($3::text IS NULL OR NOT u.guest)
           RETURNING ${USER_COLS})
         SELECT EXISTS (SELECT 1 FROM target) AS found, (SELECT guest FROM target) AS "guestTarget",
           EXISTS (SELECT 1 FROM clash) AS taken, upd.*
         FROM (SELECT 1) AS one LEFT JOIN upd ON true`,
        [id, name, hash, name === null ? null : nameKey(name)],
      )
      .catch((err: unknown) => {
        if (/users_name_(canon_)?key/.test(String((err as Error)?.message)))
          return [{ found: true, guestTarget: null, taken: true } as Row];
        throw err;
      });
    const r = rows[0];
    if (!r?.found) return null;
    if (r.taken) return 'taken';
    if (hash !== null && r.guestTarget) return 'guest';
    return {
      id: r.id as number,
      name: r.name as string,
      guest: r.guest as boolean,
      createdAt: r.createdAt as number,
      lastSeenAt: r.lastSeenAt as number,
    };
  }

  async deleteUser(id: number): Promise<boolean> {
    // messages.user_id has no foreign key (migration 004): null it in the same statement.
    // A guest's token id is revoked for as long as its tokens live (migration 015): its token no
    // longer claims the name the deletion freed.
    const rows = await this.db.query<{ n: number }>(
      `WITH d AS (DELETE FROM users WHERE id = $1 RETURNING id, guest_tid),
       m AS (UPDATE messages SET user_id = NULL WHERE user_id IN (SELECT id FROM d)),
       r AS (
         INSERT INTO revoked_guests (tid, until)
         SELECT guest_tid, now() + $2::bigint * interval '1 second' FROM d WHERE guest_tid IS NOT NULL
         ON CONFLICT (tid) DO UPDATE SET until = EXCLUDED.until
       )
       SELECT count(*) AS n FROM d`,
      [id, GUEST_TOKEN_TTL_S],
    );
    return (rows[0]?.n ?? 0) > 0;
  }

  channels(q: { after: number; limit: number }): Promise<ChannelRecord[]> {
    return this.db.query<ChannelRecord>(
      `SELECT c.id AS cid, c.name, u.name AS owner, c.last_seq AS "lastSeq",
         (extract(epoch FROM c.created_at) * 1000)::bigint AS "createdAt",
         ${MEMBER_COUNT('c.id')} AS members
       FROM channels c LEFT JOIN users u ON u.id = c.owner_id
       WHERE c.id > $1 ORDER BY c.id LIMIT $2`,
      [q.after, q.limit],
    );
  }
}
