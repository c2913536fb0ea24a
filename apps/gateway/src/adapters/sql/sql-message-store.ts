import { type ChatMessage, Limits, type ReactionSummary } from '@parley/protocol';
import { QuotaExceededError } from '../../ports/limits.js';
import {
  type Appended,
  type AppendInput,
  type HistoryQuery,
  type MessageStore,
  StaleCheckError,
  UnknownChannelError,
} from '../../ports/message-store.js';
import type { SqlDb } from './db.js';

export const HISTORY_MAX_LIMIT = 100;

// Fixed statement texts: prepared once per connection by the Postgres driver.
export const APPEND =
  'SELECT idx, seq, ts, duplicate FROM parley_append($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint, $7::bigint[])';
/** APPEND without looking for earlier copies of the cmids: infra/migrations/010_optimistic_append.sql. */
export const APPEND_FRESH =
  'SELECT idx, seq, ts, duplicate FROM parley_append_fresh($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint, $7::bigint[])';

/** An item without `checked` passes the send fence (infra/migrations/011_send_fence.sql). */
const UNFENCED = Number.MAX_SAFE_INTEGER;

/**
 * One message, one statement, no PL/pgSQL: the commonest commit below a few hundred sends/s per
 * node. Measured (backend CPU per call at 100 calls/s, bench/README.md "Postgres per commit"):
 * ~580 µs against ~650 for parley_append with one item; a bare INSERT into a one-index table
 * costs ~430 and `SELECT 1` ~190, so most of what is left is the round trip and the commit
 * (`npm run bench -- pgcost`).
 * The UPDATE locks the channel row and takes the next seq (waiting for a concurrent appender,
 * then re-reading the row); the retry lookup reads the statement's snapshot, taken before that
 * wait, so a copy committed meanwhile is caught by the unique cmid index instead (23505) and the
 * item goes through parley_append, which looks after the lock. No row back and no earlier copy:
 * the channel does not exist, or its restriction generation moved past `$7` (the send fence:
 * infra/migrations/011_send_fence.sql).
 */
export const APPEND_ONE = `WITH earlier AS (
    SELECT m.seq, m.ts FROM messages m WHERE m.cid = $1 AND m.user_id = $2 AND m.cmid = $5
  ),
  bumped AS (
    UPDATE channels SET last_seq = last_seq + 1 WHERE id = $1 AND restrict_gen <= $7 AND NOT EXISTS (SELECT 1 FROM earlier)
    RETURNING last_seq
  ),
  ins AS (
    INSERT INTO messages (cid, seq, user_id, author, text, ts, cmid)
    SELECT $1, b.last_seq, $2, $3::text, $4::text, $6::bigint, $5 FROM bumped b RETURNING seq, ts
  )
  SELECT seq, ts, false AS duplicate FROM ins UNION ALL SELECT seq, ts, true AS duplicate FROM earlier`;

/** APPEND_ONE without the lookup: a stored copy of the cmid fails it on the unique cmid index (23505). */
export const APPEND_ONE_FRESH = `WITH bumped AS (
    UPDATE channels SET last_seq = last_seq + 1 WHERE id = $1::bigint AND restrict_gen <= $7::bigint RETURNING last_seq
  )
  INSERT INTO messages (cid, seq, user_id, author, text, ts, cmid)
  SELECT $1::bigint, b.last_seq, $2::bigint, $3::text, $4::text, $6::bigint, $5::text FROM bumped b
  RETURNING seq, ts, false AS duplicate`;

/**
 * How long appends keep looking for earlier copies after one turned up. A client resends its
 * unacked sends together after a reconnect, so one conflict announces more; and however often a
 * client repeats a stored cmid, it wastes at most one optimistic statement per commit lane (one
 * in flight each) per this period.
 */
export const LOOKUP_HOLD_MS = 2000;

const UNIQUE_VIOLATION = '23505';

/** The send fence's refusal ('parley: stale check(s) <cids>', SQLSTATE PA001) as StaleCheckError, or null. */
function staleCheck(message: string): StaleCheckError | null {
  const stale = /parley: stale check\(s\) ([\d,]+)/.exec(message);
  return stale?.[1] ? new StaleCheckError(stale[1].split(',').map(Number)) : null;
}

/** A reaction statement, with the fence's refusal as StaleCheckError. */
async function fenced<T>(statement: () => Promise<T>): Promise<T> {
  try {
    return await statement();
  } catch (err) {
    throw staleCheck(String((err as Error)?.message)) ?? err;
  }
}

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
 *
 * Appends are optimistic about retries: a cmid repeats only when a client resends after losing an
 * ack, so batches go through statements that skip the lookup for earlier copies (a quarter of
 * Postgres's cost per row) and rely on the unique cmid index to refuse a repeat. When it does, the
 * statement fails whole, the batch goes again through the statements that look, and so do all
 * appends until LOOKUP_HOLD_MS pass without a repeat.
 */
export class SqlMessageStore implements MessageStore {
  private lookUntil = 0;
  /** Optimistic statements the unique cmid index refused (their batch then went again with the lookup). */
  optimisticRefused = 0;

  /**
   * @param appendDb where appends commit: a pool of its own in production (compose.ts), so sends
   *   never queue behind reads (history pages, member lists) for a free connection; defaults to `db`.
   */
  constructor(
    private readonly db: SqlDb,
    private readonly now: () => number = Date.now,
    private readonly appendDb: SqlDb = db,
  ) {}

  /** One statement, one round trip: see infra/migrations/003_lean_append.sql and 009_append_small_batches.sql. */
  async appendBatch(items: readonly AppendInput[]): Promise<Appended[]> {
    if (items.length === 0) return [];
    if (items.length === 1) return [await this.appendOne(items[0] as AppendInput)];
    // A cmid repeated inside the batch is sent once; its later copies are duplicates of the first.
    const sent: AppendInput[] = [];
    const slotOf: number[] = new Array(items.length);
    const firstOf = new Map<string, number>();
    for (const [i, it] of items.entries()) {
      const key = it.cmid === null ? null : dupKey(it.cid, it.userId, it.cmid);
      const first = key === null ? undefined : firstOf.get(key);
      if (first !== undefined) slotOf[i] = -1 - first;
      else {
        if (key !== null) firstOf.set(key, sent.length);
        slotOf[i] = sent.length;
        sent.push(it);
      }
    }
    const out = await this.appendSorted(sent);
    return slotOf.map((slot, i) => {
      const got = out[slot < 0 ? -1 - slot : slot];
      if (!got) throw new Error(`parley_append returned no row for item ${i}`);
      return slot < 0 ? { seq: got.seq, ts: got.ts, duplicate: true } : got;
    });
  }

  private optimistic(): boolean {
    return this.now() >= this.lookUntil;
  }

  /** After a repeated cmid (refused by the index, or found). */
  private lookForCopies(): void {
    this.lookUntil = this.now() + LOOKUP_HOLD_MS;
  }

  private async appendSorted(sent: readonly AppendInput[]): Promise<(Appended | undefined)[]> {
    if (this.optimistic()) {
      try {
        return await this.callAppend(sent, APPEND_FRESH);
      } catch (err) {
        if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
        this.optimisticRefused += 1;
        this.lookForCopies();
      }
    }
    const out = await this.callAppend(sent, APPEND);
    if (out.some((r) => r?.duplicate)) this.lookForCopies();
    return out;
  }

  /** `statement` (APPEND or APPEND_FRESH) over items with distinct cmids; the result in the items' order (a hole = no row back). */
  private async callAppend(sent: readonly AppendInput[], statement: string): Promise<(Appended | undefined)[]> {
    // Sorted by channel, arrival order within one (a stable sort): every transaction locks channel
    // rows in id order (infra/migrations/009_append_small_batches.sql).
    const order = sent.map((_, i) => i).sort((a, b) => (sent[a] as AppendInput).cid - (sent[b] as AppendInput).cid || a - b);
    const col = <T>(f: (it: AppendInput) => T) => order.map((i) => f(sent[i] as AppendInput));
    let rows: { idx: number; seq: number; ts: number; duplicate: boolean }[];
    try {
      rows = await this.appendDb.query(statement, [
        col((i) => i.cid),
        col((i) => i.userId),
        col((i) => i.user),
        col((i) => i.text),
        col((i) => i.cmid),
        this.now(),
        col((i) => i.checked ?? UNFENCED),
      ]);
    } catch (err) {
      const message = String((err as Error).message);
      const unknown = /parley: unknown channel\(s\) ([\d,]+)/.exec(message);
      if (unknown?.[1]) throw new UnknownChannelError(unknown[1].split(',').map(Number));
      throw staleCheck(message) ?? err;
    }
    const out: (Appended | undefined)[] = new Array(sent.length);
    for (const r of rows) out[order[r.idx - 1] as number] = { seq: r.seq, ts: r.ts, duplicate: r.duplicate };
    return out;
  }

  private async appendOne(it: AppendInput): Promise<Appended> {
    let rows: { seq: number; ts: number; duplicate: boolean }[];
    const optimistic = this.optimistic();
    try {
      rows = await this.appendDb.query(optimistic ? APPEND_ONE_FRESH : APPEND_ONE, [
        it.cid,
        it.userId,
        it.user,
        it.text,
        it.cmid,
        this.now(),
        it.checked ?? UNFENCED,
      ]);
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
      if (optimistic) this.optimisticRefused += 1;
      // A stored copy, or (APPEND_ONE) one that committed while the UPDATE waited for the lock.
      this.lookForCopies();
      const [again] = await this.callAppend([it], APPEND);
      if (!again) throw new Error('parley_append returned no row');
      return again;
    }
    const r = rows[0];
    if (!r) {
      const exists = await this.appendDb.query('SELECT 1 FROM channels WHERE id = $1', [it.cid]);
      throw exists.length ? new StaleCheckError([it.cid]) : new UnknownChannelError([it.cid]);
    }
    if (r.duplicate) this.lookForCopies();
    return { seq: r.seq, ts: r.ts, duplicate: r.duplicate };
  }

  /** Nothing beyond the rows, which ChannelStore.delete removes. */
  async forgetChannel(_cid: number): Promise<void> {}

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
    if (first && lastMsg) await this.attachReactions(cid, messages, first.seq, lastMsg.seq, hq.viewer ?? 0);
    return { messages, more };
  }

  /**
   * One query for the whole page; order of emojis and of names is the order reactions came in.
   * Names per emoji are capped (Limits.reactionNames: the viewer's, then the earliest) with the
   * count of all, so a message thousands reacted to does not make a page of megabytes.
   */
  private async attachReactions(cid: number, page: ChatMessage[], from: number, to: number, viewer: number): Promise<void> {
    const rows = await this.db.query<{ seq: number; emoji: string; name: string; n: number }>(
      `SELECT seq, emoji, name, n FROM (
         SELECT r.seq, r.emoji, u.name, r.ord,
                row_number() OVER (PARTITION BY r.seq, r.emoji ORDER BY r.user_id = $4 DESC, r.ord) AS k,
                count(*) OVER (PARTITION BY r.seq, r.emoji)::int AS n
         FROM reactions r JOIN users u ON u.id = r.user_id
         WHERE r.cid = $1 AND r.seq BETWEEN $2 AND $3
       ) x WHERE k <= $5 ORDER BY seq, ord`,
      [cid, from, to, viewer, Limits.reactionNames],
    );
    if (rows.length === 0) return;
    const bySeq = new Map<number, Map<string, ReactionSummary>>();
    for (const r of rows) {
      let emojis = bySeq.get(r.seq);
      if (!emojis) bySeq.set(r.seq, (emojis = new Map()));
      const summary = emojis.get(r.emoji);
      if (summary) summary.users.push(r.name);
      else
        emojis.set(
          r.emoji,
          r.n > Limits.reactionNames ? { emoji: r.emoji, users: [r.name], count: r.n } : { emoji: r.emoji, users: [r.name] },
        );
    }
    for (const m of page) {
      const emojis = bySeq.get(m.seq);
      if (emojis) m.reactions = [...emojis.values()];
    }
  }

  async lastSeq(cid: number): Promise<number> {
    const rows = await this.db.query<{ last_seq: number }>('SELECT last_seq FROM channels WHERE id = $1', [cid]);
    return rows[0]?.last_seq ?? 0;
  }

  /**
   * False when already present or when the message does not exist. A new emoji on a message that
   * already has `maxDistinct` different ones is refused (QuotaExceededError), exactly under
   * concurrency: see parley_react in infra/migrations/008_channel_owner.sql (one round trip).
   * Fenced like appends (infra/migrations/013_reaction_fence.sql); without `checked` it passes.
   */
  async addReaction(cid: number, seq: number, userId: number, emoji: string, maxDistinct: number, checked = UNFENCED): Promise<boolean> {
    const [row] = await fenced(() =>
      this.db.query<{ r: 'added' | 'present' | 'full' | 'missing' }>(
        'SELECT parley_react($1::bigint, $2::bigint, $3::bigint, $4::text, $5::int, $6::bigint) AS r',
        [cid, seq, userId, emoji, maxDistinct, checked],
      ),
    );
    if (row?.r === 'full') {
      throw new QuotaExceededError(maxDistinct, `reaction limit reached: a message can have at most ${maxDistinct} different reactions`);
    }
    return row?.r === 'added';
  }

  async removeReaction(cid: number, seq: number, userId: number, emoji: string, checked = UNFENCED): Promise<boolean> {
    const [row] = await fenced(() =>
      this.db.query<{ gone: boolean }>('SELECT parley_unreact($1::bigint, $2::bigint, $3::bigint, $4::text, $5::bigint) AS gone', [
        cid,
        seq,
        userId,
        emoji,
        checked,
      ]),
    );
    return row?.gone === true;
  }
}
