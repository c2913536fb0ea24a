import { type Kind, Op, type ServerFrame } from '@parley/protocol';
import type { ParleyEvents } from './types.js';
import { actionName } from './wire.js';

type EventFrame = Extract<ServerFrame, { kind: typeof Kind.Event }>;
type Simple = 'presence' | 'typing' | 'reaction' | 'moderation';
export type AppEvent = { [E in Simple]: { name: E; value: ParleyEvents[E] } }[Simple];

/** Push events that need no client state beyond the channel name; messages are sequenced elsewhere. */
export function toAppEvent(f: EventFrame, channel: string): AppEvent | undefined {
  switch (f.op) {
    case Op.PresenceState:
      return { name: 'presence', value: { channel, type: 'state', members: f.members, online: f.online ?? f.members.length } };
    case Op.PresenceDiff:
      return { name: 'presence', value: { channel, type: 'diff', joins: f.joins, leaves: f.leaves } };
    case Op.Typing:
      return { name: 'typing', value: { channel, users: f.users } };
    case Op.Reaction:
      return { name: 'reaction', value: { channel, seq: f.seq, emoji: f.emoji, user: f.user, on: f.on } };
    case Op.Moderation: {
      const action = actionName(f.action);
      // An action this SDK version does not know is dropped rather than mislabelled.
      if (!action) return undefined;
      const { target, actor, until, reason } = f;
      return { name: 'moderation', value: { channel, action, target, actor, until, reason } };
    }
    default:
      return undefined;
  }
}
