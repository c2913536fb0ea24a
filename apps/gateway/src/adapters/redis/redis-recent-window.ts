import { readFileSync } from 'node:fs';
import type { ChatMessage } from '@parley/protocol';
import type { Appended, AppendInput, HistoryQuery, MessageStore } from '../../ports/message-store.js';
import type { RedisClient } from './connect.js';
import type { RedisKeys } from './keys.js';

const RECENT_APPEND = readFileSync(new URL('./lua/recent-append.lua', import.meta.url), 'utf8');
interface RecentScript {
  parleyRecentAppend(recent: string, high: string, ...args: (string | number)[]): Promise<number>;
}

/**
 * A MessageStore that keeps each channel's most recent messages in Redis (a ZSET scored by seq,
 * capped at `size`), in front of the real store (Postgres). Resume — "everything after seq N" —
 * is served from Redis when the window holds the whole range, and from Postgres otherwise.
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
    private readonly size = 1000,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    if (typeof (redis as unknown as Partial<RecentScript>).parleyRecentAppend !== 'function') {
      redis.defineCommand('parleyRecentAppend', { numberOfKeys: 2, lua: RECENT_APPEND });
    }
  }

  async appendBatch(items: readonly AppendInput[]): Promise<Appended[]> {
    const results = await this.inner.appendBatch(items);
    // After commit, best effort: a failure here only makes the window incomplete.
    const byChannel = new Map<number, { seq: number; entry: string }[]>();
    results.forEach((r, i) => {
      const it = items[i];
      if (!it || r.duplicate) return;
      let list = byChannel.get(it.cid);
      if (!list) byChannel.set(it.cid, (list = []));
      list.push({ seq: r.seq, entry: JSON.stringify([r.seq, it.user, it.text, r.ts]) });
    });
    if (byChannel.size) {
      // One channel's keys share a hash tag, so each channel's commands can go to its shard.
      Promise.all([...byChannel].map(([cid, list]) => this.remember(cid, list))).catch(this.onError);
    }
    return results;
  }

  /** One script call per channel per batch (lua/recent-append.lua): add, trim, raise the high mark. */
  private async remember(cid: number, list: { seq: number; entry: string }[]): Promise<void> {
    const args: (string | number)[] = [this.size];
    for (const { seq, entry } of list) args.push(seq, entry);
    await (this.redis as unknown as RecentScript).parleyRecentAppend(this.keys.recent(cid), this.keys.recentHigh(cid), ...args);
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
      this.redis.zrangebyscore(this.keys.recent(cid), `(${after}`, '+inf', 'LIMIT', 0, limit + 1),
      this.redis.get(this.keys.recentHigh(cid)),
    ]);
    const high = Number(highRaw ?? 0);
    if (entries.length === 0) return after >= high && high > 0 ? { messages: [], more: false } : null;
    const messages: ChatMessage[] = [];
    for (const [i, raw] of entries.entries()) {
      const [seq, user, text, ts] = JSON.parse(raw) as [number, string, string, number];
      if (seq !== after + 1 + i) return null; // a hole: not provably complete
      messages.push({ cid, seq, user, text, ts });
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

  async addReaction(cid: number, seq: number, userId: number, emoji: string, maxDistinct: number): Promise<boolean> {
    const changed = await this.inner.addReaction(cid, seq, userId, emoji, maxDistinct);
    if (changed) await this.forget(cid, seq);
    return changed;
  }

  async removeReaction(cid: number, seq: number, userId: number, emoji: string): Promise<boolean> {
    const changed = await this.inner.removeReaction(cid, seq, userId, emoji);
    if (changed) await this.forget(cid, seq);
    return changed;
  }

  /** A message with reactions is served from the store, which aggregates them. */
  private async forget(cid: number, seq: number): Promise<void> {
    await this.redis.zremrangebyscore(this.keys.recent(cid), seq, seq).catch(this.onError);
  }
}
