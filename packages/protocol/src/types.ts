/**
 * Frame type: ONE positive fixint (0–127, a single byte on the wire).
 *
 *   bit   6 5 | 4 3 2 1 0
 *         kind|    op
 *
 * kind: 0 request (client→server), 1 reply (server→client, success),
 *       2 event (server→client push), 3 error (server→client, to a request or unsolicited)
 * op:   0–31, the operation (same op for a request, its reply and its error).
 */
export const Kind = { Request: 0, Reply: 1, Event: 2, Error: 3 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export const Op = {
  Hello: 1,
  Create: 2,
  Join: 3,
  Leave: 4,
  List: 5,
  Members: 6,
  Message: 7,
  History: 8,
  Typing: 9,
  React: 10,
  Unreact: 11,
  Reaction: 12,
  PresenceState: 13,
  PresenceDiff: 14,
  Command: 15,
  Moderation: 16,
  Batch: 17,
  Reconnect: 18,
  /** Unsolicited error (no request) uses op 0. */
  None: 0,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

export const KIND_SHIFT = 5;
export const OP_MASK = 0b1_1111;

export function frameType(kind: Kind, op: Op): number {
  return (kind << KIND_SHIFT) | op;
}
export function kindOf(type: number): Kind {
  return ((type >> KIND_SHIFT) & 0b11) as Kind;
}
export function opOf(type: number): Op {
  return (type & OP_MASK) as Op;
}

/** Moderation action codes used in moderation events. */
/** Delete: an operator deleted the channel (target is empty): every member is out of it. */
/** Mod/Unmod: the target's role became Moderator/Member. Transfer: the target owns the channel now (the actor was the owner). */
/**
 * Left: the target (also the actor) left the channel from another connection; sent only to the
 * target's other connections, which are out of the channel now (membership is the user's). A
 * moderation action rather than an event type of its own because clients ignore actions they do
 * not know, where an older decoder refuses an event type it does not know (docs/protocol.md §1).
 */
export const ModAction = { Kick: 1, Mute: 2, Unmute: 3, Ban: 4, Unban: 5, Delete: 6, Mod: 7, Unmod: 8, Transfer: 9, Left: 10 } as const;
export type ModAction = (typeof ModAction)[keyof typeof ModAction];

export const Role = { Guest: 0, Member: 1, Moderator: 2, Owner: 3 } as const;
export type Role = (typeof Role)[keyof typeof Role];

export const SUBPROTOCOL = 'parley.v1';
export const SUBPROTOCOL_PREFIX = 'parley.v';

/** Hard limits shared by server validation and client checks. */
export const Limits = {
  channelName: 64,
  text: 4000,
  emoji: 32,
  historyPage: 100,
  /** Channels per List reply. */
  listPage: 100,
  /** Who reacted: names per emoji on a message in a History page (`count` says how many in all). */
  reactionNames: 20,
  /** Members per Members reply. */
  membersPage: 200,
  /** A Members cursor (a user name: 2–32 code points, so at most 64 UTF-16 units). */
  userName: 64,
  clientMsgId: 64,
  command: 600,
} as const;
