import type { ChatMessage } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { fitPage, messageBytes } from './history-page.js';

const msg = (seq: number, text: string): ChatMessage => ({ cid: 1, seq, user: 'ann', text, ts: seq });
const long = '語'.repeat(4000); // 12,000 bytes of UTF-8

describe('fitPage', () => {
  it('leaves a page within the budget as it is', () => {
    const page = { messages: [msg(1, 'a'), msg(2, 'b')], more: false };
    expect(fitPage(page, 1000, true)).toBe(page);
  });

  it('reading forward keeps the oldest, reading back the newest; a cut page says more', () => {
    const page = { messages: [1, 2, 3, 4, 5].map((s) => msg(s, long)), more: false };
    const budget = 3 * messageBytes(msg(1, long)) + 10;
    expect(fitPage(page, budget, true)).toEqual({ messages: page.messages.slice(0, 3), more: true });
    expect(fitPage(page, budget, false)).toEqual({ messages: page.messages.slice(2), more: true });
  });

  it('always keeps one message, however large', () => {
    const page = { messages: [msg(1, long), msg(2, long)], more: false };
    expect(fitPage(page, 10, true).messages.map((m) => m.seq)).toEqual([1]);
    expect(fitPage(page, 10, false).messages.map((m) => m.seq)).toEqual([2]);
  });

  it('counts the names of who reacted', () => {
    const bare = msg(1, 'x');
    const reacted = { ...bare, reactions: [{ emoji: '🔥', users: Array.from({ length: 20 }, (_, i) => `user${i}`) }] };
    expect(messageBytes(reacted) - messageBytes(bare)).toBeGreaterThan(20 * 6);
  });
});
