import { type ChatMessage, Limits } from '@parley/protocol';
import type { HistoryChunk } from './channel.js';

export type HistoryPageFn = (before: number | null, after: number | null) => Promise<HistoryChunk>;

/** One catch-up page: the stored messages with seq > `after`, for the channel sequencer. */
export async function readAfter(page: HistoryPageFn, after: number): Promise<HistoryChunk> {
  if (after > 0) return page(null, after);
  // `after` must be ≥ 1 on the wire, so "everything from the start" is read backwards from the
  // newest page until seq 1 (or an empty page) is reached.
  const all: ChatMessage[] = [];
  let before: number | null = null;
  for (;;) {
    const r = await page(before, null);
    if (r.messages.length === 0) break;
    all.push(...r.messages);
    const lowest = Math.min(...r.messages.map((m) => m.seq));
    if (lowest <= 1) {
      // A first page starting at seq 1 may be the oldest page rather than the newest: let the
      // sequencer continue forward with `after` if it was full.
      const full = before === null && (r.more || r.messages.length === Limits.historyPage);
      return { messages: all, more: full };
    }
    if (before !== null && lowest >= before) break; // the server ignored `before`: do not loop
    before = lowest;
  }
  return { messages: all, more: false };
}
