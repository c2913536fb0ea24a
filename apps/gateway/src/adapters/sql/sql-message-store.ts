import type { ChatMessage, ReactionSummary } from '@parley/protocol';
import type { Appended, AppendInput, HistoryQuery, MessageStore } from '../../ports/message-store.js';
import type { SqlDb, SqlQueryable } from './db.js';

/** appendBatch was given a channel id that has no row (never existed, or deleted meanwhile). */
export class UnknownChannelError extends Error {
  constructor(readonly cids: number[]) {
    super(`unknown channel(s): ${cids.join(', ')}`);
    this.name = 'UnknownChannelError';
  }
}

export const HISTORY_MAX_LIMIT = 100;

// Fixed statement texts: prepared once per connection by the Postgres driver.
const LOCK_CHANNELS = 'SELECT id, last_seq FROM channels WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE';
// LATERAL ... LIMIT 1 cannot be flattened into a join, so this is always one probe of
// messages_cmid_key per key. As a plain join, once the planner knew the array had ~500 keys it
// picked a hash join over a seq scan of all messages: measured 350 ms instead of 3 ms.
const FIND_DUPLICATES = `
  SELECT k.cid, k.user_id, k.cmid, m.seq, m.ts
  FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS k(cid, user_id, cmid)
  CROSS JOIN LATERAL (
    SELECT seq, ts FROM messages
    WHERE cid = k.cid AND user_id = k.user_id AND cmid = k.cmid AND cmid IS NOT NULL
    LIMIT 1
  ) m`;
// One multi-row insert and the sequence bump in one round trip.
const INSERT_AND_BUMP = `
  WITH ins AS (
    INSERT INTO messages (cid, seq, user_id, author, text, ts, cmid)
    SELECT k.cid, k.seq, k.user_id, k.author, k.text, $6::bigint, k.cmid
    FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $7::text[])
      AS k(cid, seq, user_id, author, text, cmid)
  )
  UPDATE channels c SET last_seq = v.last_seq
  FROM unnest($8::bigint[], $9::bigint[]) AS v(id, last_seq)
  WHERE c.id = v.id`;

const dupKey = (cid: number, userId: number, cmid: string): string => `${cid}\u0000${userId}\u0000${cmid}`;

interface MessageRow {
  seq: number;
  author: string;
  text: string;
  ts: number;
}

/**
 * MessageStore on SQL. The channel row is the sequence: `appendBatch` locks the batch's channel
 * rows (in id order, so concurrent batches touching several channels cannot deadlock) before it
 * looks for retried cmids, so what it sees cannot change under it, and seqs never skip, which a
 * Postgres SEQUENCE could not promise (rolled-back nextval leaves a gap).
 */
export class SqlMessageStore implements MessageStore {
  constructor(
    private readonly db: SqlDb,
    private readonly now: () => number = Date.now,
  ) {}

  appendBatch(items: readonly AppendInput[]): Promise<Appended[]> {
    if (items.length === 0) return Promise.resolve([]);
    return this.db.tx((q) => this.appendIn(q, items));
  }

  private async appendIn(q: SqlQueryable, items: readonly AppendInput[]): Promise<Appended[]> {
    const cids = [...new Set(items.map((i) => i.cid))].sort((a, b) => a - b);
    const locked = await q.query<{ id: number; last_seq: number }>(LOCK_CHANNELS, [cids]);
    const last = new Map(locked.map((r) => [r.id, r.last_seq]));
    if (last.size !== cids.length) throw new UnknownChannelError(cids.filter((c) => !last.has(c)));

    // Earlier stored copies of retried sends; also catches a cmid repeated inside this batch.
    const seen = new Map<string, Appended>();
    const withCmid = items.filter((i) => i.cmid !== null);
    if (withCmid.length > 0) {
      const rows = await q.query<{ cid: number; user_id: number; cmid: string; seq: number; ts: number }>(FIND_DUPLICATES, [
        withCmid.map((i) => i.cid),
        withCmid.map((i) => i.userId),
        withCmid.map((i) => i.cmid),
      ]);
      for (const r of rows) seen.set(dupKey(r.cid, r.user_id, r.cmid), { seq: r.seq, ts: r.ts, duplicate: true });
    }

    const ts = this.now();
    const out: Appended[] = [];
    const cid: number[] = [];
    const seq: number[] = [];
    const uid: number[] = [];
    const author: string[] = [];
    const text: string[] = [];
    const cmid: (string | null)[] = [];
    for (const it of items) {
      const key = it.cmid === null ? null : dupKey(it.cid, it.userId, it.cmid);
      const earlier = key === null ? undefined : seen.get(key);
      if (earlier) {
        out.push({ seq: earlier.seq, ts: earlier.ts, duplicate: true });
        continue;
      }
      const s = (last.get(it.cid) ?? 0) + 1;
      last.set(it.cid, s);
      cid.push(it.cid);
      seq.push(s);
      uid.push(it.userId);
      author.push(it.user);
      text.push(it.text);
      cmid.push(it.cmid);
      const a = { seq: s, ts, duplicate: false };
      out.push(a);
      if (key !== null) seen.set(key, { ...a, duplicate: true });
    }
    if (seq.length > 0) {
      const bumped = [...new Set(cid)];
      await q.query(INSERT_AND_BUMP, [cid, seq, uid, author, text, ts, cmid, bumped, bumped.map((c) => last.get(c) as number)]);
    }
    return out;
  }

  async history(cid: number, hq: HistoryQuery): Promise<{ messages: ChatMessage[]; more: boolean }> {
    const limit = Math.max(1, Math.min(HISTORY_MAX_LIMIT, Math.floor(hq.limit) || 1));
    let rows: MessageRow[];
    if (hq.after !== null) {
      rows = await this.db.query<MessageRow>(
        'SELECT seq, author, text, ts FROM messages WHERE cid = $1 AND seq > $2 ORDER BY seq LIMIT $3',
        [cid, hq.after, limit + 1],
      );
    } else {
      // Newest first from the top (or below `before`), then turned around for the caller.
      rows = await this.db.query<MessageRow>(
        'SELECT seq, author, text, ts FROM messages WHERE cid = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3',
        [cid, hq.before ?? Number.MAX_SAFE_INTEGER, limit + 1],
      );
    }
    const more = rows.length > limit;
    if (more) rows = rows.slice(0, limit);
    if (hq.after === null) rows.reverse();
    const messages: ChatMessage[] = rows.map((r) => ({ cid, seq: r.seq, user: r.author, text: r.text, ts: r.ts }));
    const first = messages[0];
    const lastMsg = messages[messages.length - 1];
    if (first && lastMsg) await this.attachReactions(cid, messages, first.seq, lastMsg.seq);
    return { messages, more };
  }

  /** One query for the whole page; order of emojis and of names is the order reactions came in. */
  private async attachReactions(cid: number, page: ChatMessage[], from: number, to: number): Promise<void> {
    const rows = await this.db.query<{ seq: number; emoji: string; name: string }>(
      `SELECT r.seq, r.emoji, u.name FROM reactions r JOIN users u ON u.id = r.user_id
       WHERE r.cid = $1 AND r.seq BETWEEN $2 AND $3 ORDER BY r.seq, r.created_at, r.user_id`,
      [cid, from, to],
    );
    if (rows.length === 0) return;
    const bySeq = new Map<number, Map<string, string[]>>();
    for (const r of rows) {
      let emojis = bySeq.get(r.seq);
      if (!emojis) bySeq.set(r.seq, (emojis = new Map()));
      const users = emojis.get(r.emoji);
      if (users) users.push(r.name);
      else emojis.set(r.emoji, [r.name]);
    }
    for (const m of page) {
      const emojis = bySeq.get(m.seq);
      if (!emojis) continue;
      const summary: ReactionSummary[] = [];
      for (const [emoji, users] of emojis) summary.push({ emoji, users });
      m.reactions = summary;
    }
  }

  async lastSeq(cid: number): Promise<number> {
    const rows = await this.db.query<{ last_seq: number }>('SELECT last_seq FROM channels WHERE id = $1', [cid]);
    return rows[0]?.last_seq ?? 0;
  }

  /** False when already present or when the message does not exist. */
  async addReaction(cid: number, seq: number, userId: number, emoji: string): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO reactions (cid, seq, user_id, emoji)
       SELECT $1::bigint, $2::bigint, $3::bigint, $4::text
       WHERE EXISTS (SELECT 1 FROM messages WHERE cid = $1 AND seq = $2)
       ON CONFLICT DO NOTHING RETURNING 1 AS ok`,
      [cid, seq, userId, emoji],
    );
    return rows.length > 0;
  }

  async removeReaction(cid: number, seq: number, userId: number, emoji: string): Promise<boolean> {
    const rows = await this.db.query(
      'DELETE FROM reactions WHERE cid = $1 AND seq = $2 AND user_id = $3 AND emoji = $4 RETURNING 1 AS ok',
      [cid, seq, userId, emoji],
    );
    return rows.length > 0;
  }
}
