import type { ChatMessage } from '@parley/protocol';

/** Roughly what a message weighs in a History reply: its strings as UTF-8, plus msgpack's framing. */
export function messageBytes(m: ChatMessage): number {
  let n = 16 + Buffer.byteLength(m.user) + Buffer.byteLength(m.text);
  for (const r of m.reactions ?? []) {
    n += 8 + Buffer.byteLength(r.emoji);
    for (const u of r.users) n += 2 + Buffer.byteLength(u);
  }
  return n;
}

/**
 * A History page cut to about `budget` bytes, keeping the part next to the cursor: the oldest
 * messages when reading forward (`after`), the newest when reading back; never fewer than one.
 * A cut page says `more`, so the client pages on from where it ends, as it does anyway.
 *
 * Why: 100 messages of 4,000 three-byte characters are a 1.2 MB reply. Above the send-buffer cap
 * (PARLEY_MAX_BACKPRESSURE) a client on a slow link is closed with 4101 as soon as any live event
 * follows, resumes, asks for the same page and is closed again — one flood of long messages would
 * lock such clients out of a channel.
 */
export function fitPage(
  page: { messages: ChatMessage[]; more: boolean },
  budget: number,
  forward: boolean,
): { messages: ChatMessage[]; more: boolean } {
  const ms = page.messages;
  let bytes = 0;
  for (let k = 0; k < ms.length; k++) {
    const i = forward ? k : ms.length - 1 - k;
    bytes += messageBytes(ms[i] as ChatMessage);
    if (bytes > budget && k > 0) {
      return { messages: forward ? ms.slice(0, k) : ms.slice(ms.length - k), more: true };
    }
  }
  return page;
}
