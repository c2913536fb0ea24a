import type { ChatMessage } from '@parley/protocol';

export interface AppendInput {
  cid: number;
  userId: number;
  user: string;
  text: string;
  /** Client message id: a retried send with the same (user, channel, cmid) is stored once. */
  cmid: string | null;
  /**
   * The send fence: the channel's restriction generation (ModerationStore `Standing.gen`) the
   * sender's right to send was checked against. Absent: not fenced (tools, tests).
   */
  checked?: number;
}
export interface Appended {
  seq: number;
  ts: number;
  /** True when (user, channel, cmid) was already stored: seq/ts are the original ones. */
  duplicate: boolean;
}
export interface HistoryQuery {
  /** Messages with seq < before (newest first page when both are null). */
  before: number | null;
  /** Messages with seq > after (oldest first). */
  after: number | null;
  limit: number;
  /** The user who asks: among the names of who reacted, theirs is always listed (when they did). */
  viewer?: number;
}

/** appendBatch was given a channel id that has no row (never existed, or deleted meanwhile). */
export class UnknownChannelError extends Error {
  constructor(readonly cids: number[]) {
    super(`unknown channel(s): ${cids.join(', ')}`);
    this.name = 'UnknownChannelError';
  }
}

/**
 * appendBatch was given items checked against a restriction generation their channel has moved
 * past (someone was kicked, muted or banned there since): check those senders again, from the record.
 */
export class StaleCheckError extends Error {
  constructor(readonly cids: number[]) {
    super(`stale sender checks in channel(s): ${cids.join(', ')}`);
    this.name = 'StaleCheckError';
  }
}

/**
 * MessageStore: the record of every chat message and reaction.
 *
 * Contract:
 * - `appendBatch` commits all items in ONE transaction (group commit) and resolves only after the
 *   commit: resolved = durable. Each channel's seq is strictly increasing by 1 with no gaps and no
 *   duplicates, even with many nodes appending to the same channel at once; items of one channel
 *   in one batch get seqs in array order. Duplicates (same user, channel, cmid) get the original
 *   seq back and consume no seq. A batch naming a channel that does not exist (deleted meanwhile)
 *   rejects with UnknownChannelError and stores nothing.
 * - `history` returns messages in ascending seq order, at most `limit`, with aggregated reactions
 *   (who reacted, in reaction order: at most Limits.reactionNames names per emoji, the viewer's
 *   among them when they reacted, and `count` when more reacted); `more` says whether another
 *   page exists in that direction.
 *   `after` takes precedence when both are set.
 * - Reactions: one (message, user, emoji) at most; add/remove return whether anything changed.
 *   `addReaction` refuses a new emoji on a message that already has `maxDistinct` different ones
 *   with QuotaExceededError (exactly, under concurrency); more users may always add an emoji the
 *   message already has. With `checked` (the restriction generation the reacting user's check
 *   read, as AppendInput.checked) both are fenced like appends: when a kick, mute or ban in the
 *   channel committed since, they change nothing and reject with StaleCheckError.
 * - `forgetChannel` drops whatever the store keeps about a channel beyond its rows (caches): called
 *   after the channel was deleted (ChannelStore.delete), after which its history is empty.
 */
export interface MessageStore {
  appendBatch(items: readonly AppendInput[]): Promise<Appended[]>;
  history(cid: number, q: HistoryQuery): Promise<{ messages: ChatMessage[]; more: boolean }>;
  lastSeq(cid: number): Promise<number>;
  forgetChannel(cid: number): Promise<void>;
  addReaction(cid: number, seq: number, userId: number, emoji: string, maxDistinct: number, checked?: number): Promise<boolean>;
  removeReaction(cid: number, seq: number, userId: number, emoji: string, checked?: number): Promise<boolean>;
}
