import type { PresenceEntry } from '@parley/protocol';
import type { PresencePage } from '../ports/presence-store.js';

/**
 * A channel's presence as a Join reply or a PresenceState carries it: at most `max` entries and,
 * when that is not all of them, `online`, how many are online in all, with the asking user's own
 * entry first (when given). Diffs keep flowing for everyone; a client counts from `online`.
 *
 * Why: the whole list is O(online) bytes per join and, sent to every socket after a presence loss,
 * O(online²) per channel; past ~70k online one Join reply alone would pass the send-buffer cap
 * (PARLEY_MAX_BACKPRESSURE) and close the joiner 4101 again and again. The store reads no more
 * than that either (PresenceStore.page).
 */
export function boundPresence(page: PresencePage, max: number, self?: PresenceEntry): { members: PresenceEntry[]; online?: number } {
  const listed = page.members.length > max ? page.members.slice(0, max) : page.members;
  if (page.online <= listed.length) return { members: listed };
  if (self === undefined || max < 1) return { members: listed, online: page.online };
  const others = listed.filter((m) => m.user !== self.user);
  return { members: [self, ...others.slice(0, max - 1)], online: page.online };
}
