import type { Captured } from './wire-tap.js';

/** The events the bytes scenario measures, in report order. */
export const EVENTS = ['chat message', 'typing', 'reaction', 'presence join', 'presence leave'] as const;
export type EventName = (typeof EVENTS)[number];

/**
 * The same content in every system: alice sends, types and reacts in channel "general"; bob
 * receives (his socket is the one measured); carol (a guest) joins, then disconnects.
 */
export const CONTENT = {
  channel: 'general',
  sender: 'alice',
  receiver: 'bob',
  joiner: 'carol',
  text: 'Hello, how is everyone doing today?',
  emoji: '👍',
} as const;

/** What the server assigned to the chat message in the Parley run; the other systems reuse it. */
export interface Stamp {
  seq: number;
  ts: number;
}

/** One received event frame per event, as bob's client saw it. */
export type Captures = Record<EventName, Captured>;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
