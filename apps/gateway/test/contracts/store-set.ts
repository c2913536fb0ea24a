import type { ChannelStore } from '../../src/ports/channel-store.js';
import type { MessageStore } from '../../src/ports/message-store.js';
import type { ModerationStore } from '../../src/ports/moderation-store.js';
import type { UserStore } from '../../src/ports/user-store.js';

/**
 * What a store contract suite is run against: one backend's stores over one shared, migrated,
 * otherwise empty database. Suites need all four because messages reference users and channels.
 */
export interface StoreSet {
  messages: MessageStore;
  channels: ChannelStore;
  users: UserStore;
  moderation: ModerationStore;
  /** Another node's MessageStore over the same data (its own connection pool), for races. */
  peer(): Promise<MessageStore>;
  close(): Promise<void>;
}
export type StoreFactory = () => Promise<StoreSet>;

let n = 0;
/** Names unique within a run, so tests can share one database. */
// Decimal counter: base-36 ones made look-alikes (`_1_` and `_i_` are one name, core/names.ts).
export const uniq = (base: string): string => `${base}_${++n}_${process.pid.toString(36)}`;
