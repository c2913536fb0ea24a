import type { PresenceEntry, ReactionSummary } from '@parley/protocol';

export type { PresenceEntry, ReactionSummary };

export interface ReconnectOptions {
  /** Base of the exponential backoff (also the cap of the first delay). */
  minMs: number;
  /** Largest delay between two attempts. */
  maxMs: number;
}

export interface ParleyClientOptions {
  /** Server base URL: `http(s)://` or `ws(s)://` host, without `/ws`. */
  url: string;
  /** JWT access token of a registered user, or a function returning a fresh one (called before every connection attempt). */
  token?: string | (() => string | Promise<string>);
  /** Connect as a guest with this name (ignored when `token` or `guestToken` is set). */
  guestName?: string;
  /**
   * Reconnect as the guest this token belongs to (from `client.guestToken` or the `connected`
   * event of an earlier session, e.g. kept in localStorage): the same name, which nobody else
   * can take meanwhile. Ignored when `token` is set.
   */
  guestToken?: string;
  /** Auto-reconnect backoff; `false` disables reconnecting. Default `{ minMs: 100, maxMs: 10_000 }`. */
  reconnect?: ReconnectOptions | false;
  /** Requests without an answer after this long reject with `ErrorCode.Unavailable`. Default 10 s. */
  requestTimeoutMs?: number;
  /** How long an out-of-order message waits for its predecessors before the SDK fetches them. Default 150 ms. */
  reorderWindowMs?: number;
  /** Minimum interval between two typing notifications per channel. Default 2 s. */
  typingIntervalMs?: number;
}

/** The server's greeting after the socket opened. */
export interface Hello {
  user: string;
  guest: boolean;
  node: string;
  heartbeatMs: number;
  /** Guests: the token to come back as this guest (the SDK uses it for its own reconnects). */
  guestToken?: string;
}

export interface Message {
  channel: string;
  seq: number;
  user: string;
  text: string;
  /** Server time (ms since epoch) when the message was stored. */
  ts: number;
  /** Aggregated reactions; present on history, absent on live messages. */
  reactions?: ReactionSummary[];
}

export type PresenceEvent =
  /** `online`: how many in all (more than `members` lists in a crowded channel). */
  | { channel: string; type: 'state'; members: PresenceEntry[]; online: number }
  | { channel: string; type: 'diff'; joins: PresenceEntry[]; leaves: string[] };

export interface TypingEvent {
  channel: string;
  users: string[];
}

export interface ReactionEvent {
  channel: string;
  seq: number;
  emoji: string;
  user: string;
  /** true = added, false = removed. */
  on: boolean;
}

/**
 * 'delete': an operator deleted the channel (target is empty); the client has left it.
 * 'mod' / 'unmod': the target's role became moderator / member. 'transfer': the target owns the
 * channel now and the actor (the previous owner) is a moderator.
 */
export type ModerationActionName = 'kick' | 'mute' | 'unmute' | 'ban' | 'unban' | 'delete' | 'mod' | 'unmod' | 'transfer';

export interface ModerationEvent {
  channel: string;
  action: ModerationActionName;
  target: string;
  actor: string;
  /** When a mute/ban ends (ms since epoch); null = permanent or not applicable. */
  until: number | null;
  reason: string | null;
}

/**
 * This client is out of `channel` without having called `leave()`: its user left the channel from
 * another connection (a second tab or device). Kicks, bans and deletions come as `moderation`
 * events instead. Sends still waiting for the channel are rejected (NotMember).
 */
export interface LeftEvent {
  channel: string;
}

export interface DisconnectInfo {
  code: number;
  reason: string;
  /** false when the client stopped for good (close(), 4000–4099 close code, reconnect disabled). */
  willReconnect: boolean;
  /** Delay before the next attempt, when `willReconnect`. */
  delayMs?: number;
}

export interface ParleyEvents {
  message: Message;
  presence: PresenceEvent;
  typing: TypingEvent;
  reaction: ReactionEvent;
  moderation: ModerationEvent;
  left: LeftEvent;
  connected: Hello;
  disconnected: DisconnectInfo;
  error: Error;
}

export interface JoinResult {
  /** Who is online: all of them, or in a crowded channel the server's cap of them (1,000 by default). */
  members: PresenceEntry[];
  /** How many are online in all (`members.length` unless the list was capped). */
  online: number;
  lastSeq: number;
}

export interface SendResult {
  seq: number;
  ts: number;
}

export interface HistoryOptions {
  /** Only messages with seq < before (older page). */
  before?: number;
  /** Only messages with seq > after (newer page). */
  after?: number;
  /** 1–100, default 50. */
  limit?: number;
}

export interface HistoryPage {
  messages: Message[];
  more: boolean;
}

export interface ChannelSummary {
  name: string;
  members: number;
}

export interface ListOptions {
  /** Names after this one: the last name of the previous page. */
  after?: string;
  /** 1–100, default 100. */
  limit?: number;
  /** Only names starting with this. */
  prefix?: string;
}

export interface ChannelPage {
  channels: ChannelSummary[];
  /** Another page follows (ask with `after` = the last name of this one). */
  more: boolean;
}

export interface MembersOptions {
  /** Names after this one: the last name of the previous page. */
  after?: string;
  /** 1–200, default 200. */
  limit?: number;
}

export interface MemberPage {
  members: Member[];
  /** Another page follows (ask with `after` = the last name of this one). */
  more: boolean;
  /** The channel's members, all pages. */
  total: number;
}

export type RoleName = 'guest' | 'member' | 'moderator' | 'owner';

export interface Member {
  user: string;
  role: RoleName;
  online: boolean;
}

export interface SendOptions {
  /** Client message id; pass the same one to retry a send without storing it twice. Default: random. */
  cmid?: string;
}
