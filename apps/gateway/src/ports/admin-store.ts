import type { Role } from '@parley/protocol';

/** A user as operators see it. Times are epoch ms. */
export interface UserRecord {
  id: number;
  name: string;
  guest: boolean;
  createdAt: number;
  lastSeenAt: number;
}
export interface UserDetail extends UserRecord {
  channels: { cid: number; name: string; role: Role }[];
}
/** One message of a user, with its channel's name (null for a deleted channel's leftovers: none exist). */
export interface UserMessage {
  cid: number;
  channel: string;
  seq: number;
  text: string;
  ts: number;
}
/** A channel as operators see it. */
export interface ChannelRecord {
  cid: number;
  name: string;
  /** Null once the owner's account is gone. */
  owner: string | null;
  members: number;
  /** The highest seq handed out: how many messages the channel has had. */
  lastSeq: number;
  createdAt: number;
}
/** Where a page ends: pass it back as `before` for the next (older) page. */
export interface MessageCursor {
  ts: number;
  cid: number;
  seq: number;
}

/**
 * AdminStore: the operators' view of users and channels (the admin HTTP API). Read-mostly; the
 * mutations are the ones only operators may make.
 *
 * Contract:
 * - `users` pages by id ascending (`after` = the last id of the previous page, 0 to start), at
 *   most `limit` rows; `prefix` matches the start of the name literally (no wildcards); `guest`
 *   filters accounts (false) or guests (true).
 * - `user` returns the user with the channels it is a member of (by name), or null.
 * - `userMessages` pages a user's messages newest first (by ts, then channel, then seq); `before`
 *   is the cursor of the last message of the previous page.
 * - `update` renames the user and/or replaces an account's password hash, all or nothing, in one
 *   statement: 'taken' when the name, or a look-alike of it (core/names.ts), belongs to someone else, 'guest' for a password on a guest,
 *   null when the user does not exist; else the updated user. A new password revokes the
 *   account's access tokens (bumps its token epoch). Messages keep the author name they were
 *   sent with.
 * - `deleteUser` removes the user (memberships, reactions and sanctions go with it; its messages
 *   stay, with their author name and no user id) and returns whether it existed.
 * - `channels` pages by id ascending like `users`.
 */
export interface AdminStore {
  users(q: { after: number; limit: number; prefix: string | null; guest: boolean | null }): Promise<UserRecord[]>;
  /** How many accounts there are: registered users and guests (whatever a page shows). */
  userCounts(): Promise<{ registered: number; guests: number }>;
  user(id: number): Promise<UserDetail | null>;
  userMessages(id: number, q: { before: MessageCursor | null; limit: number }): Promise<UserMessage[]>;
  update(id: number, change: { name?: string; passwordHash?: string }): Promise<UserRecord | 'taken' | 'guest' | null>;
  deleteUser(id: number): Promise<boolean>;
  channels(q: { after: number; limit: number }): Promise<ChannelRecord[]>;
}
