import { type ChatMessage, decodeServer, Kind, Op } from '@parley/protocol';
import type { Appended, AppendInput, HistoryQuery, MessageStore } from '../../ports/message-store.js';
import type { RedisClient } from './connect.js';
import type { RedisKeys } from './keys.js';

/**
 * A MessageStore that serves each channel's most recent messages from Redis (a ZSET scored by
 * seq, holding the encoded Message event frames), in front of the real store (Postgres). Resume —
 * "everything after seq N" — is served from Redis when the window holds the whole range, and from
 * Postgres otherwise. The window is WRITTEN by RedisBroker.publish (`retain`), in the same round
 * trip that publishes the committed messages to the other nodes (lua/publish-retain.lua); this
 * class reads it and drops entries whose reactions changed.
 *
 * Correctness never depends on Redis: the window is only ever used when it is provably complete
 * for the requested range (contiguous seqs from after+1, up to the channel's highest known seq or
 * a full page). Anything it cannot prove — a lost write, a Redis restart that wiped it, a message
 * whose reactions changed (its entry is dropped) — falls through to the inner store.
 */
export class RedisRecentWindow implements MessageStore {
  constructor(
    private readonly inner: MessageStore,
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Pass-through: the window is filled by the broker's publish of the committed messages. */
  appendBatch(items: readonly AppendInput[]): Promise<Appended[]> {
    return this.inner.appendBatch(items);
  }

  async history(cid: number, q: HistoryQuery): Promise<{ messages: ChatMessage[]; more: boolean }> {
    if (q.after !== null) {
      const hit = await this.fromWindow(cid, q.after, q.limit).catch((err) => {
        this.onError(err);
        return null;
      });
      if (hit) return hit;
    }
    return this.inner.history(cid, q);
  }

  private async fromWindow(cid: number, after: number, limit: number) {
    const [entries, highRaw] = await Promise.all([
      this.redis.zrangebyscoreBuffer(this.keys.recent(cid), `(${after}`, '+inf', 'LIMIT', 0, limit + 1),
      this.redis.get(this.keys.recentHigh(cid)),
    ]);
    const high = Number(highRaw ?? 0);
    if (entries.length === 0) return after >= high && high > 0 ? { messages: [], more: false } : null;
    const messages: ChatMessage[] = [];
    for (const [i, raw] of entries.entries()) {
      const m = messageOf(raw);
      if (!m || m.cid !== cid || m.seq !== after + 1 + i) return null; // a hole (or a foreign entry): not provably complete
      messages.push(m);
    }
    const more = messages.length > limit;
    if (more) messages.length = limit;
    else if ((messages.at(-1)?.seq ?? 0) < high) return null; // the tail is missing
    return { messages, more };
  }

  lastSeq(cid: number): Promise<number> {
    return this.inner.lastSeq(cid);
  }

  /** The channel's window and high mark (one channel's keys share a hash tag: one shard). */
  async forgetChannel(cid: number): Promise<void> {
    await this.redis.del(this.keys.recent(cid), this.keys.recentHigh(cid));
    await this.inner.forgetChannel(cid);
  }

  async addReaction(cid: number, seq: number, userId: number, emoji: string, maxDistinct: number, checked?: number): Promise<boolean> {
    const changed = await this.inner.addReaction(cid, seq, userId, emoji, maxDistinct, checked);
    if (changed) await this.forget(cid, seq);
    return changed;
  }

  async removeReaction(cid: number, seq: number, userId: number, emoji: string, checked?: number): Promise<boolean> {
    const changed = await this.inner.removeReaction(cid, seq, userId, emoji, checked);
    if (changed) await this.forget(cid, seq);
    return changed;
  }

  /** A message with reactions is served from the store, which aggregates them. */
  private async forget(cid: number, seq: number): Promise<void> {
    await this.redis.zremrangebyscore(this.keys.recent(cid), seq, seq).catch(this.onError);
  }
}

/** The chat message in a window entry (an encoded Message event frame), or null. */
function messageOf(frame: Uint8Array): ChatMessage | null {
  const d = decodeServer(frame);
  const f = d.ok && d.value.length === 1 ? d.value[0] : undefined;
  if (f?.kind !== Kind.Event || f.op !== Op.Message) return null;
  return { cid: f.cid, seq: f.seq, user: f.user, text: f.text, ts: f.ts };
}
