import type { PresenceEntry } from '@parley/protocol';

/**
 * A channel's presence as a Join reply or a PresenceState carries it: at most `max` entries (the
 * asking user's own first, when given and present) and, when that is not all of them, `online`,
 * how many are online in all. Diffs keep flowing for everyone; a client counts from `online`.
 *
 * Why: the whole list is O(online) bytes per join and, sent to every socket after a presence loss,
 * O(online²) per channel; past ~70k online one Join reply alone would pass the send-buffer cap
 * (PARLEY_MAX_BACKPRESSURE) and close the joiner 4101 again and again.
 */
export function boundPresence(members: PresenceEntry[], max: number, self?: string): { members: PresenceEntry[]; online?: number } {
  if (members.length <= max) return { members };
  const mine = self === undefined ? -1 : members.findIndex((m) => m.user === self);
  const listed = mine < max ? members.slice(0, max) : [members[mine] as PresenceEntry, ...members.slice(0, max - 1)];
  return { members: listed, online: members.length };
}
