/**
 * The message list as rows: confirmed messages by seq, system lines where they happened, pending
 * sends last, day separators, and consecutive messages of one author grouped. Pure, so the
 * rules are unit-tested without a browser.
 */

export interface Reaction {
  emoji: string;
  /** Who reacted, as far as known: a History page names at most 20 (always including me). */
  users: string[];
  /** How many reacted in all, when more than `users` names. */
  count?: number;
}

/** How many reacted with this emoji. */
export const reactionCount = (r: Reaction): number => r.count ?? r.users.length;
export interface MsgItem {
  seq: number;
  user: string;
  text: string;
  ts: number;
  reactions: Reaction[];
}
export interface SystemItem {
  id: number;
  /** Shown after the message with this seq (0 = before every message). */
  afterSeq: number;
  ts: number;
  text: string;
  tone: 'info' | 'moderation' | 'reply' | 'error';
}
export interface PendingItem {
  cmid: string;
  user: string;
  text: string;
  ts: number;
  state: 'sending' | 'failed';
  error: string | null;
}

export type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'msg'; key: string; item: MsgItem; grouped: boolean }
  | { kind: 'system'; key: string; item: SystemItem }
  | { kind: 'pending'; key: string; item: PendingItem; grouped: boolean };

/** Messages of one author within this long of the previous one share its header. */
export const GROUP_WINDOW_MS = 5 * 60_000;

// Thousands of rows are rebuilt per update: the last day's bounds are kept, so a timestamp on
// the same day costs two comparisons instead of a Date.
let dayCache = { from: 0, to: -1, key: '' };
export const dayKey = (ts: number): string => {
  if (ts >= dayCache.from && ts < dayCache.to) return dayCache.key;
  const d = new Date(ts);
  const from = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const to = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
  dayCache = { from, to, key: `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}` };
  return dayCache.key;
};

export function dayLabel(ts: number, now = Date.now()): string {
  const key = dayKey(ts);
  if (key === dayKey(now)) return 'Today';
  if (key === dayKey(now - 86_400_000)) return 'Yesterday';
  return new Date(ts).toLocaleDateString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

export function buildRows(
  messages: readonly MsgItem[],
  system: readonly SystemItem[],
  pending: readonly PendingItem[],
  now = Date.now(),
): Row[] {
  const rows: Row[] = [];
  let lastDay = '';
  let prev: { user: string; ts: number } | null = null;
  const day = (ts: number) => {
    const k = dayKey(ts);
    if (k !== lastDay) {
      lastDay = k;
      rows.push({ kind: 'day', key: `day:${k}`, label: dayLabel(ts, now) });
      prev = null;
    }
  };
  const groupWith = (user: string, ts: number): boolean => {
    const g = prev !== null && prev.user === user && ts - prev.ts < GROUP_WINDOW_MS && ts >= prev.ts;
    prev = { user, ts };
    return g;
  };
  const sys = [...system].sort((a, b) => a.afterSeq - b.afterSeq || a.id - b.id);
  let s = 0;
  const systemUpTo = (seq: number) => {
    while (s < sys.length && (sys[s] as SystemItem).afterSeq < seq) {
      const item = sys[s++] as SystemItem;
      day(item.ts);
      rows.push({ kind: 'system', key: `sys:${item.id}`, item });
      prev = null;
    }
  };
  for (const m of messages) {
    systemUpTo(m.seq);
    day(m.ts);
    const grouped = groupWith(m.user, m.ts);
    // The key says whether the row has a header: a row that gains or loses one is a new row to
    // the virtualiser (measured afresh), not an old one silently changing height.
    rows.push({ kind: 'msg', key: `m:${m.seq}${grouped ? '' : 'h'}`, item: m, grouped });
  }
  systemUpTo(Number.POSITIVE_INFINITY);
  for (const p of pending) {
    day(p.ts);
    rows.push({ kind: 'pending', key: `p:${p.cmid}`, item: p, grouped: groupWith(p.user, p.ts) });
  }
  return rows;
}

/** Inserts or replaces messages by seq, keeping seq order; returns the same array when nothing changed. */
export function mergeMessages(current: readonly MsgItem[], incoming: readonly MsgItem[]): MsgItem[] {
  if (incoming.length === 0) return current as MsgItem[];
  const last = current[current.length - 1];
  // The common case, a live message after everything: append without a sort.
  if (incoming.length === 1 && (!last || (incoming[0] as MsgItem).seq > last.seq)) return [...current, incoming[0] as MsgItem];
  const bySeq = new Map<number, MsgItem>();
  for (const m of current) bySeq.set(m.seq, m);
  let changed = false;
  for (const m of incoming) {
    if (!bySeq.has(m.seq)) changed = true;
    if (!bySeq.has(m.seq)) bySeq.set(m.seq, m);
  }
  if (!changed) return current as MsgItem[];
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/**
 * A reaction toggled on or off by `user` (the server sends one only when something changed);
 * counts and who-reacted follow. With some names not listed (`count`), a removal of an unlisted
 * user is one of those.
 */
export function applyReaction(reactions: readonly Reaction[], emoji: string, user: string, on: boolean): Reaction[] {
  const out: Reaction[] = [];
  let found = false;
  for (const r of reactions) {
    if (r.emoji !== emoji) {
      out.push(r);
      continue;
    }
    found = true;
    const listed = r.users.includes(user);
    const hidden = reactionCount(r) - r.users.length;
    if (on ? listed : !listed && hidden === 0) {
      out.push(r); // already counted, or nobody we know of
      continue;
    }
    const users = on ? [...r.users, user] : listed ? r.users.filter((u) => u !== user) : r.users;
    const count = reactionCount(r) + (on ? 1 : -1);
    if (count > users.length) out.push({ emoji, users, count });
    else if (count > 0) out.push({ emoji, users });
  }
  if (!found && on) out.push({ emoji, users: [user] });
  return out;
}
