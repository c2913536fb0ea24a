import { type ChannelInfo, Role } from '@parley/protocol';
import type { Channel, ChannelStore, Member } from '../../ports/channel-store.js';
import { UnknownChannelError } from '../../ports/message-store.js';
import type { SqlDb } from './db.js';

interface ChannelRow {
  id: number;
  name: string;
  owner_id: number | null;
}

// A channel whose owner account was deleted keeps existing; 0 is never a user id (bigserial).
const toChannel = (r: ChannelRow): Channel => ({ cid: r.id, name: r.name, ownerId: r.owner_id ?? 0 });

/** ChannelStore on SQL. Each method but `delete` is one statement, so atomic without a transaction. */
export class SqlChannelStore implements ChannelStore {
  constructor(private readonly db: SqlDb) {}

  async create(name: string, ownerId: number): Promise<Channel | null> {
    const rows = await this.db.query<ChannelRow>(
      `WITH c AS (
         INSERT INTO channels (name, owner_id) VALUES ($1, $2)
         ON CONFLICT (name) DO NOTHING RETURNING id, name, owner_id
       ), m AS (
         INSERT INTO memberships (cid, user_id, role) SELECT id, owner_id, $3::smallint FROM c
       )
       SELECT id, name, owner_id FROM c`,
      [name, ownerId, Role.Owner],
    );
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

  list(): Promise<ChannelInfo[]> {
    return this.db.query<ChannelInfo>(
      `SELECT c.id AS cid, c.name, count(m.user_id) AS members
       FROM channels c LEFT JOIN memberships m ON m.cid = c.id
       WHERE c.public GROUP BY c.id ORDER BY c.name`,
    );
  }

  /** Returns the role the user has afterwards: `role` when newly joined, else the existing one. */
  async join(cid: number, userId: number, role: Role): Promise<Role> {
    const inserted = await this.db
      .query<{ role: Role }>('INSERT INTO memberships (cid, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING role', [
        cid,
        userId,
        role,
      ])
      .catch((err: unknown) => {
        // The channel was deleted since the caller looked it up.
        if (/memberships_cid_fkey/.test(String((err as Error)?.message))) throw new UnknownChannelError([cid]);
        throw err;
      });
    if (inserted[0]) return inserted[0].role;
    // Already a member. A separate statement: a conflicting row committed by a concurrent join
    // is not visible in the snapshot of the INSERT above.
    return (await this.role(cid, userId)) ?? role;
  }

  async leave(cid: number, userId: number): Promise<void> {
    await this.db.query('DELETE FROM memberships WHERE cid = $1 AND user_id = $2', [cid, userId]);
  }

  async role(cid: number, userId: number): Promise<Role | null> {
    const rows = await this.db.query<{ role: Role }>('SELECT role FROM memberships WHERE cid = $1 AND user_id = $2', [cid, userId]);
    return rows[0]?.role ?? null;
  }

  /** Makes the user a member with that role if they were not one. */
  async setRole(cid: number, userId: number, role: Role): Promise<void> {
    await this.db.query(
      `INSERT INTO memberships (cid, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (cid, user_id) DO UPDATE SET role = EXCLUDED.role`,
      [cid, userId, role],
    );
  }

  members(cid: number): Promise<Member[]> {
    return this.db.query<Member>(
      `SELECT m.user_id AS "userId", u.name AS "user", m.role
       FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.cid = $1 ORDER BY u.name`,
      [cid],
    );
  }

  /** Deletes the channel with its memberships, messages, reactions and sanctions (not the audit log). */
  async delete(cid: number): Promise<void> {
    await this.db.tx(async (q) => {
      // messages.cid has no FK (see 001_init.sql). Taking the row lock appenders take first means
      // the message delete below, a new statement with a new snapshot, sees every committed append.
      await q.query('SELECT 1 FROM channels WHERE id = $1 FOR UPDATE', [cid]);
      await q.query('DELETE FROM messages WHERE cid = $1', [cid]);
      await q.query('DELETE FROM channels WHERE id = $1', [cid]);
    });
  }

  async ensure(name: string): Promise<Channel> {
    await this.db.query('INSERT INTO channels (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
    const ch = await this.byName(name);
    if (!ch) throw new Error(`channel ${name} vanished while it was being ensured`);
    return ch;
  }
}
