import { type ChannelInfo, Limits, Role } from '@parley/protocol';
import type { Channel, ChannelStore, ListQuery, Member, MemberPage, MembersQuery } from '../../ports/channel-store.js';
import { QuotaExceededError } from '../../ports/limits.js';
import { UnknownChannelError } from '../../ports/message-store.js';
import type { SqlDb, SqlQueryable } from './db.js';

interface ChannelRow {
  id: number;
  name: string;
  owner_id: number | null;
}

// A channel whose owner account was deleted keeps existing; 0 is never a user id (bigserial).
const toChannel = (r: ChannelRow): Channel => ({ cid: r.id, name: r.name, ownerId: r.owner_id ?? 0 });

/**
 * A user's effective role as SQL, from the channel's owner id and the user's membership role
 * (either may be null). Ownership comes from the channel (migration 008); a membership row never
 * grants Owner, even one an older node wrote.
 */
export const effectiveRoleSql = (ownerId: string, userId: string, memberRole: string): string =>
  `CASE WHEN ${ownerId} = ${userId} THEN ${Role.Owner} WHEN ${memberRole} > ${Role.Moderator} THEN ${Role.Moderator} ELSE ${memberRole} END`;

/** The same rule for rows already read. */
export function effectiveRole(ownerId: number | null, userId: number, memberRole: Role | null): Role | null {
  if (ownerId === userId) return Role.Owner;
  return memberRole === null ? null : (Math.min(memberRole, Role.Moderator) as Role);
}

/**
 * The member's name, which a membership carries for the Members pages (migration 014: the
 * database keeps it through renames, and names a membership inserted without it, as a previous
 * release's gateway does — a trigger this release's statements spare themselves).
 */
const MEMBER_NAME = (userId: string) => `(SELECT name FROM users WHERE id = ${userId})`;

/** Creates the channel and the owner's membership (a Moderator row: ownership is the channel's). */
const CREATE = `WITH c AS (
    INSERT INTO channels (name, owner_id) VALUES ($1, $2)
    ON CONFLICT (name) DO NOTHING RETURNING id, name, owner_id
  ), m AS (
    INSERT INTO memberships (cid, user_id, role, user_name)
    SELECT id, owner_id, ${Role.Moderator}::smallint, ${MEMBER_NAME('owner_id')} FROM c
  )
  SELECT id, name, owner_id FROM c`;

/**
 * Refuses with QuotaExceededError when the user already owns `maxOwned` channels. Call inside a
 * transaction: it locks the user's row (FOR NO KEY UPDATE: membership inserts, which only take a
 * KEY SHARE lock on it, are not held up), so one user's concurrent creates and transfers to them
 * count one after another and the cap holds.
 */
export async function checkOwnedQuota(q: SqlQueryable, userId: number, maxOwned: number): Promise<void> {
  await q.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [userId]);
  const [r] = await q.query<{ n: number }>('SELECT count(*) AS n FROM channels WHERE owner_id = $1', [userId]);
  if ((r?.n ?? 0) >= maxOwned) {
    throw new QuotaExceededError(maxOwned, `channel limit reached: a user can own at most ${maxOwned} channels (delete or transfer one)`);
  }
}

/**
 * Deletes a channel with its memberships, messages, reactions and sanctions (not the audit log).
 * Call inside a transaction. messages.cid has no FK (see 001_init.sql): taking the row lock
 * appenders take first means the message delete, a new statement with a new snapshot, sees every
 * committed append. Returns the channel's name, or null when there was no such channel.
 */
export async function deleteChannelRows(q: SqlQueryable, cid: number): Promise<string | null> {
  const [ch] = await q.query<{ name: string }>('SELECT name FROM channels WHERE id = $1 FOR UPDATE', [cid]);
  if (!ch) return null;
  await q.query('DELETE FROM messages WHERE cid = $1', [cid]);
  await q.query('DELETE FROM channels WHERE id = $1', [cid]);
  return ch.name;
}

/**
 * A channel's member count: the sum of its rows in `channel_member_counts`, which triggers keep as
 * memberships come and go (infra/migrations/012_member_counts.sql): a few index reads, where
 * count(*) over the memberships cost ~80 ms for a channel of a million members.
 */
export const MEMBER_COUNT = (cid: string) => `(SELECT coalesce(sum(k.n), 0)::int FROM channel_member_counts k WHERE k.cid = ${cid})`;

/** ChannelStore on SQL. Each method but a capped `create` and `delete` is one statement, so atomic without a transaction. */
export class SqlChannelStore implements ChannelStore {
  constructor(private readonly db: SqlDb) {}

  async create(name: string, ownerId: number, maxOwned?: number): Promise<Channel | null> {
    const rows =
      maxOwned === undefined
        ? await this.db.query<ChannelRow>(CREATE, [name, ownerId])
        : await this.db.tx(async (q) => {
            await checkOwnedQuota(q, ownerId, maxOwned);
            return q.query<ChannelRow>(CREATE, [name, ownerId]);
          });
    const r = rows[0];
    return r ? toChannel(r) : null;
  }

  async byName(name: string): Promise<Channel | null> {
    const rows = await this.db.query<ChannelRow>('SELECT id, name, owner_id FROM channels WHERE name = $1', [name]);
    const r = rows[0];
    return r ? toChannel(r) : null;
  }

  async byId(cid: number): Promise<Channel | null> {
    const rows = await this.db.query<ChannelRow>('SELECT id, name, owner_id FROM channels WHERE id = $1', [cid]);
    const r = rows[0];
    return r ? toChannel(r) : null;
  }

  /** Pages walk the name index (`channels_name_key`); member counts are kept (MEMBER_COUNT). */
  async list(q: ListQuery = {}): Promise<{ channels: ChannelInfo[]; more: boolean }> {
    const limit = Math.max(1, Math.min(Limits.listPage, Math.floor(q.limit ?? Limits.listPage)));
    const rows = await this.db.query<ChannelInfo>(
      `SELECT c.id AS cid, c.name, ${MEMBER_COUNT('c.id')} AS members
       FROM channels c
       WHERE c.public AND c.name > $1 AND starts_with(c.name, $2)
       ORDER BY c.name LIMIT $3`,
      [q.after ?? '', q.prefix ?? '', limit + 1],
    );
    const more = rows.length > limit;
    return { channels: more ? rows.slice(0, limit) : rows, more };
  }

  /** Returns the role the user has afterwards: Owner for the owner, else `role` when newly joined, else the existing one. */
  async join(cid: number, userId: number, role: Role): Promise<Role> {
    const inserted = await this.db
      .query<{ role: Role | null }>(
        // A rejoin (every reconnect) reads its membership and inserts nothing: no insert is
        // attempted, so no name is looked up and no conflict is taken (measured with pgbench:
        // bench/README.md, fourteenth session).
        `WITH cur AS (SELECT role FROM memberships WHERE cid = $1 AND user_id = $2),
         i AS (
           INSERT INTO memberships (cid, user_id, role, user_name)
           SELECT $1::bigint, $2::bigint, $3::smallint, ${MEMBER_NAME('$2::bigint')} WHERE NOT EXISTS (SELECT 1 FROM cur)
           ON CONFLICT DO NOTHING RETURNING role
         )
         SELECT ${effectiveRoleSql('c.owner_id', '$2::bigint', 'coalesce(i.role, cur.role)')} AS role
         FROM channels c LEFT JOIN i ON true LEFT JOIN cur ON true WHERE c.id = $1`,
        [cid, userId, role],
      )
      .catch((err: unknown) => {
        // The channel was deleted since the caller looked it up.
        if (/memberships_cid_fkey/.test(String((err as Error)?.message))) throw new UnknownChannelError([cid]);
        throw err;
      });
    const got = inserted[0]?.role;
    if (got !== undefined && got !== null) return got;
    // A concurrent join committed the membership after this statement's snapshot (its insert
    // conflicted, its read saw nothing): read it with a new snapshot. Or the channel is gone.
    return (await this.role(cid, userId)) ?? role;
  }

  async leave(cid: number, userId: number): Promise<void> {
    await this.db.query('DELETE FROM memberships WHERE cid = $1 AND user_id = $2', [cid, userId]);
  }

  async role(cid: number, userId: number): Promise<Role | null> {
    const rows = await this.db.query<{ role: Role | null }>(
      `SELECT ${effectiveRoleSql('c.owner_id', '$2::bigint', 'm.role')} AS role
       FROM channels c LEFT JOIN memberships m ON m.cid = c.id AND m.user_id = $2
       WHERE c.id = $1`,
      [cid, userId],
    );
    return rows[0]?.role ?? null;
  }

  /** Makes the user a member with that role if they were not one. Never Owner: ownership is the channel's. */
  async setRole(cid: number, userId: number, role: Role): Promise<void> {
    await this.db.query(
      `INSERT INTO memberships (cid, user_id, role, user_name) VALUES ($1, $2, $3, ${MEMBER_NAME('$2::bigint')})
       ON CONFLICT (cid, user_id) DO UPDATE SET role = EXCLUDED.role`,
      [cid, userId, Math.min(role, Role.Moderator)],
    );
  }

  async members(cid: number, q: MembersQuery = {}): Promise<MemberPage> {
    const limit = Math.max(1, Math.min(Limits.membersPage, Math.floor(q.limit ?? Limits.membersPage)));
    const [rows, count] = await Promise.all([
      this.db.query<Member>(
        // One range scan of (cid, user_name) whatever the channel's size (migration 014).
        `SELECT m.user_id AS "userId", m.user_name AS "user", ${effectiveRoleSql('c.owner_id', 'm.user_id', 'm.role')} AS role
         FROM memberships m JOIN channels c ON c.id = m.cid
         WHERE m.cid = $1 AND m.user_name > $2 ORDER BY m.user_name LIMIT $3`,
        [cid, q.after ?? '', limit + 1],
      ),
      this.db.query<{ total: number }>(`SELECT ${MEMBER_COUNT('$1::bigint')} AS total`, [cid]),
    ]);
    const more = rows.length > limit;
    return { members: more ? rows.slice(0, limit) : rows, more, total: count[0]?.total ?? 0 };
  }

  /** Deletes the channel with its memberships, messages, reactions and sanctions (not the audit log; ModerationStore.deleteChannel audits). */
  async delete(cid: number): Promise<void> {
    await this.db.tx((q) => deleteChannelRows(q, cid));
  }

  async ensure(name: string): Promise<Channel> {
    await this.db.query('INSERT INTO channels (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
    const ch = await this.byName(name);
    if (!ch) throw new Error(`channel ${name} vanished while it was being ensured`);
    return ch;
  }
}
