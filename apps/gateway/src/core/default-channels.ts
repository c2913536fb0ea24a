import type { Logger } from '../logger.js';
import type { ChannelStore } from '../ports/channel-store.js';

/**
 * Makes sure the configured default channels (PARLEY_DEFAULT_CHANNELS, `general` unless set)
 * exist, so a fresh server is usable by a guest — guests may join but not create channels.
 * Runs at every start on every node: `ensure` is an INSERT … ON CONFLICT DO NOTHING, so several
 * gateways starting at once create each channel exactly once, and a channel that exists (with its
 * owner, members and history) is left untouched. A default channel has no owner; an operator
 * who deletes one gets it back, empty, at the next start.
 */
export async function ensureDefaultChannels(channels: ChannelStore, names: readonly string[], logger: Logger): Promise<void> {
  for (const name of names) {
    const ch = await channels.ensure(name);
    logger.debug({ channel: name, cid: ch.cid }, 'default channel ready');
  }
}
