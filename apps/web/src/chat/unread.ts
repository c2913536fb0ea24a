/**
 * Unread counts: per channel, the highest seq the reader has seen (persisted per user, so a
 * reload keeps them) against the highest seq the channel has. Own messages never count.
 */
export interface UnreadInput {
  lastSeq: number;
  lastRead: number;
  /** Seqs above lastRead that the reader sent themself. */
  ownAfterRead: number;
}

export function unreadCount({ lastSeq, lastRead, ownAfterRead }: UnreadInput): number {
  return Math.max(0, lastSeq - lastRead - ownAfterRead);
}

export const unreadLabel = (n: number): string => (n > 99 ? '99+' : String(n));

/** "N new messages" while the reader is scrolled up: messages that arrived after `since`. */
export function newSince(seqs: readonly number[], since: number): number {
  let n = 0;
  for (let i = seqs.length - 1; i >= 0 && (seqs[i] as number) > since; i--) n++;
  return n;
}
