import { describe, expect, it } from 'vitest';
import { encodeBatch, encodeEvent } from './codec.js';
import type { Event } from './frames.js';
import { Op } from './types.js';

/**
 * Wire size of Parley frames against the seed app's verbose JSON for the same content.
 * docs/protocol.md quotes the table this test prints; the BRIEF targets are asserted here:
 * a chat message event ≤ 35 % of the seed JSON, a typing event ≤ 20 bytes.
 */
const TS = 1764092798123; // a realistic epoch-ms timestamp (2025-11-25)
const SEQ = 48213;
const CID = 3;
const UUID = '3f2b8c1e-9a4d-4e7b-b1c6-2d5e8f0a7c93'; // v4 shape: 36 characters
const MSG_UUID = 'b7e4a2d9-1c3f-4a8e-9d6b-5f0c2e7a1b84';
const TEXT = 'Hello, how is everyone doing today?';

const utf8 = (s: string) => new TextEncoder().encode(s).byteLength;
/** The seed's envelope: {"type", "timestamp", "id", "payload"} with snake_case payload keys. */
const seed = (type: string, payload: object) => utf8(JSON.stringify({ type, timestamp: TS, id: UUID, payload }));

const cases: { name: string; event: Event; seedBytes: number }[] = [
  {
    name: 'chat message',
    event: { op: Op.Message, cid: CID, seq: SEQ, user: 'alice', text: TEXT, ts: TS },
    seedBytes: seed('chat_send', { channel_id: 'general', sender: { username: 'alice' }, content: TEXT }),
  },
  {
    name: 'typing',
    event: { op: Op.Typing, cid: CID, users: ['alice'] },
    seedBytes: seed('typing_start', { channel_id: 'general', sender: { username: 'alice' } }),
  },
  {
    name: 'reaction',
    event: { op: Op.Reaction, cid: CID, seq: SEQ, emoji: '👍', user: 'alice', on: true },
    seedBytes: seed('reaction_add', {
      channel_id: 'general',
      message_id: MSG_UUID,
      emoji: '👍',
      sender: { username: 'alice' },
    }),
  },
  {
    // The seed has no presence diff; this is the same envelope with Phoenix-style {joins, leaves}.
    name: 'presence diff (1 join, 1 leave)',
    event: { op: Op.PresenceDiff, cid: CID, joins: [{ user: 'bob', guest: false }], leaves: ['carol'] },
    seedBytes: seed('presence_diff', {
      channel_id: 'general',
      joins: [{ username: 'bob', is_guest: false }],
      leaves: [{ username: 'carol' }],
    }),
  },
];

const measured = cases.map((c) => {
  const bytes = encodeEvent(c.event).byteLength;
  return { ...c, bytes, ratio: bytes / c.seedBytes };
});
const [chat, typing, reaction, presenceDiff] = measured as [M, M, M, M];
type M = (typeof measured)[number];

describe('wire size vs the seed verbose JSON', () => {
  it('prints the table quoted in docs/protocol.md', () => {
    const rows = measured.map((m) => `| ${m.name} | ${m.seedBytes} | ${m.bytes} | ${(m.ratio * 100).toFixed(1)} % |`);
    console.log(['| frame | seed JSON (bytes) | Parley (bytes) | Parley / seed |', '|---|---:|---:|---:|', ...rows].join('\n'));
  });

  it('gives exactly the numbers docs/protocol.md quotes', () => {
    expect(measured.map((m) => [m.bytes, m.seedBytes])).toEqual([
      [58, 203],
      [10, 158],
      [18, 225],
      [17, 207],
    ]);
  });

  it('a chat message event is ≤ 35 % of the seed JSON', () => {
    expect(chat.ratio).toBeLessThanOrEqual(0.35);
  });

  it('a typing event is ≤ 20 bytes', () => {
    expect(typing.bytes).toBeLessThanOrEqual(20);
  });

  it('reaction and presence diff events are smaller than a quarter of the seed JSON', () => {
    expect(reaction.ratio).toBeLessThan(0.25);
    expect(presenceDiff.ratio).toBeLessThan(0.25);
  });

  it('batching adds one byte per WebSocket message, not per frame', () => {
    const one = encodeEvent(chat.event);
    expect(encodeBatch(Array.from({ length: 10 }, () => one)).byteLength).toBe(10 * one.byteLength + 1);
  });
});
