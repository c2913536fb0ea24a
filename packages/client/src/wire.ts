import type { ChatMessage } from '@parley/protocol';
import type { Message, ModerationActionName, RoleName } from './types.js';

/** Wire (cid-based) to app (name-based) shapes, and other small conversions. */

export function toMessage(channel: string, m: ChatMessage): Message {
  const out: Message = { channel, seq: m.seq, user: m.user, text: m.text, ts: m.ts };
  if (m.reactions && m.reactions.length > 0) out.reactions = m.reactions;
  return out;
}

const ACTIONS: Record<number, ModerationActionName> = {
  1: 'kick',
  2: 'mute',
  3: 'unmute',
  4: 'ban',
  5: 'unban',
  6: 'delete',
  7: 'mod',
  8: 'unmod',
  9: 'transfer',
};
export const actionName = (action: number): ModerationActionName | undefined => ACTIONS[action];

const ROLES: readonly RoleName[] = ['guest', 'member', 'moderator', 'owner'];
export const roleName = (role: number): RoleName => ROLES[role] ?? 'guest';

export type TokenSource = string | (() => string | Promise<string>);

/** `http(s)://host` or `ws(s)://host` plus auth query. Tokens are read per attempt so they can be refreshed. */
export async function socketUrl(
  url: string,
  token: TokenSource | undefined,
  guestName: string | undefined,
  guestToken?: string,
): Promise<string> {
  const base = url.replace(/\/+$/, '').replace(/^http(s?):\/\//i, 'ws$1://');
  const t = typeof token === 'function' ? await token() : token;
  // No token and no name: an empty guest name asks the server to generate one. A guest token
  // names its guest; the name goes along for servers that predate guest tokens.
  const guest = `guest=${encodeURIComponent(guestName ?? '')}`;
  const query = t ? `token=${encodeURIComponent(t)}` : guestToken ? `guestToken=${encodeURIComponent(guestToken)}&${guest}` : guest;
  return `${base}/ws?${query}`;
}

/** Client message id; randomUUID is missing in insecure (plain http) browser contexts. */
export function randomId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
