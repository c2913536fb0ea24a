import { frameType, Kind, Op } from './types.js';

/** A user as presence shows it: name plus whether it is a guest. Positional: [name, guest 0|1]. */
export interface PresenceEntry {
  user: string;
  guest: boolean;
}
/** Aggregated reactions on one message: emoji and who reacted (count = users.length). */
export interface ReactionSummary {
  emoji: string;
  /**
   * Who reacted, in reaction order: at most Limits.reactionNames in a History page, always
   * including the user who asked (when they reacted).
   */
  users: string[];
  /** How many reacted in all, when more than `users` lists. */
  count?: number;
}
export interface ChatMessage {
  cid: number;
  seq: number;
  user: string;
  text: string;
  ts: number;
  reactions?: ReactionSummary[];
}
export interface ChannelInfo {
  cid: number;
  name: string;
  members: number;
}
export interface MemberInfo {
  user: string;
  role: number;
  online: boolean;
}

/** Client → server requests, as the gateway sees them after validation. */
export type Request =
  | { op: typeof Op.Create; rid: number; name: string }
  | { op: typeof Op.Join; rid: number; name: string }
  | { op: typeof Op.Leave; rid: number; cid: number }
  /**
   * One page of public channels by name: names after `after` (a cursor: the last name of the
   * previous page), starting with `prefix` when given; at most `limit` (≤ Limits.listPage).
   */
  | { op: typeof Op.List; rid: number; after?: string | null; limit?: number; prefix?: string | null }
  /**
   * One page of a channel's members by name: names after `after` (a cursor: the last name of the
   * previous page); at most `limit` (≤ Limits.membersPage, which is also the default).
   */
  | { op: typeof Op.Members; rid: number; cid: number; after?: string | null; limit?: number }
  | { op: typeof Op.Message; rid: number; cid: number; text: string; cmid: string | null }
  | {
      op: typeof Op.History;
      rid: number;
      cid: number;
      before: number | null;
      after: number | null;
      limit: number;
    }
  | { op: typeof Op.Typing; rid: number; cid: number }
  | { op: typeof Op.React; rid: number; cid: number; seq: number; emoji: string }
  | { op: typeof Op.Unreact; rid: number; cid: number; seq: number; emoji: string }
  | { op: typeof Op.Command; rid: number; cid: number; text: string };

/** Server → client events. */
export type Event =
  | {
      op: typeof Op.Hello;
      user: string;
      guest: boolean;
      node: string;
      heartbeatMs: number;
      /** Guests only: the token to reconnect as this guest (`?guestToken=`); optional trailing field. */
      guestToken?: string;
    }
  | ({ op: typeof Op.Message } & ChatMessage)
  | { op: typeof Op.Typing; cid: number; users: string[] }
  | { op: typeof Op.Reaction; cid: number; seq: number; emoji: string; user: string; on: boolean }
  /** `online`: how many are online in all, when more than `members` lists (a crowded channel). */
  | { op: typeof Op.PresenceState; cid: number; members: PresenceEntry[]; online?: number }
  | { op: typeof Op.PresenceDiff; cid: number; joins: PresenceEntry[]; leaves: string[] }
  | {
      op: typeof Op.Moderation;
      cid: number;
      action: number;
      target: string;
      actor: string;
      until: number | null;
      reason: string | null;
    }
  | { op: typeof Op.Reconnect; delayMs: number };

/** Replies, by op. */
export interface ReplyBodies {
  [Op.Create]: { cid: number; name: string };
  /** `members`: who is online (at most the server's presence list cap); `online`: how many in all, when more. */
  [Op.Join]: { cid: number; name: string; lastSeq: number; members: PresenceEntry[]; online?: number };
  [Op.Leave]: Record<never, never>;
  [Op.List]: { channels: ChannelInfo[]; more?: boolean };
  /** `total`: the channel's members, all pages; `more`: pages follow this one. */
  [Op.Members]: { members: MemberInfo[]; more?: boolean; total?: number };
  [Op.Message]: { seq: number; ts: number };
  [Op.History]: { cid: number; messages: ChatMessage[]; more: boolean };
  [Op.React]: Record<never, never>;
  [Op.Unreact]: Record<never, never>;
  [Op.Command]: { text: string };
}
export type ReplyOp = keyof ReplyBodies;
export type Reply = { [K in ReplyOp]: { op: K; rid: number } & ReplyBodies[K] }[ReplyOp];

export interface ErrorFrame {
  op: Op;
  rid: number;
  code: number;
  message: string;
  retryAfterMs?: number;
}

export type ServerFrame =
  | ({ kind: typeof Kind.Event } & Event)
  | ({ kind: typeof Kind.Reply } & Reply)
  | ({ kind: typeof Kind.Error } & ErrorFrame);

export const T = {
  req: (op: Op) => frameType(Kind.Request, op),
  reply: (op: Op) => frameType(Kind.Reply, op),
  event: (op: Op) => frameType(Kind.Event, op),
  error: (op: Op) => frameType(Kind.Error, op),
};
