import type { ChannelInfo, Role } from '@parley/protocol';

export interface Channel {
  cid: number;
  name: string;
  /** The owner's user id; 0 once the owner's account is gone. */
  ownerId: number;
}
export interface Member {
  userId: number;
  user: string;
  role: Role;
}

export interface MembersQuery {
  /** The previous page's last name: this page starts after it. */
  after?: string | null;
  limit?: number;
}

export interface MemberPage {
  members: Member[];
  /** Another page follows this one. */
  more: boolean;
  /** The channel's members, all pages. */
  total: number;
}

export interface ListQuery {
  after?: string | null;
  limit?: number;
  prefix?: string | null;
}

/**
 * ChannelStore: channels and persisted membership with roles.
 *
 * Contract:
 * - Ownership is a property of the channel (`ownerId`), not of a membership: a user's role in a
 *   channel (`role`, `join`, `members`) is Owner when they own it — member or not, so an owner who
 *   left is still the owner and is Owner again on rejoining — else the membership's role, which
 *   is never Owner. Ownership changes only through ModerationStore.act (a transfer).
 * - Channel names are unique; `create` returns null when the name is taken. The creator owns the
 *   channel and is a member. With `maxOwned`, a user who already owns that many channels gets
 *   QuotaExceededError and nothing is created; concurrent creates of one user cannot pass it.
 * - `join` adds a member with `role` (or keeps an existing one) and is idempotent; on a channel
 *   that does not exist (deleted since it was looked up) it rejects with UnknownChannelError.
 *   `leave` removes the membership row (and nothing else: an owner stays the owner).
 * - `role` is null for a user who neither owns the channel nor is a member of it.
 * - `setRole` sets a membership's role (Member or Moderator), making the user a member if needed.
 * - `list` returns one page of public channels with their persisted member counts, by name:
 *   at most `limit`, names after `after` (the previous page's last name), starting with `prefix`
 *   when given; `more` says whether another page follows.
 * - `members` returns one page of a channel's members by name: at most `limit` (≤
 *   Limits.membersPage), names after `after`; `more` says whether another page follows, `total`
 *   counts all of them. A channel may have any number of members: no call returns them all.
 */
export interface ChannelStore {
  create(name: string, ownerId: number, maxOwned?: number): Promise<Channel | null>;
  byName(name: string): Promise<Channel | null>;
  byId(cid: number): Promise<Channel | null>;
  list(q?: ListQuery): Promise<{ channels: ChannelInfo[]; more: boolean }>;
  join(cid: number, userId: number, role: Role): Promise<Role>;
  leave(cid: number, userId: number): Promise<void>;
  role(cid: number, userId: number): Promise<Role | null>;
  setRole(cid: number, userId: number, role: Role): Promise<void>;
  members(cid: number, q?: MembersQuery): Promise<MemberPage>;
  delete(cid: number): Promise<void>;
  /**
   * Creates a public channel without an owner unless the name exists (then leaves it as it is).
   * Idempotent and safe when several nodes call it at once: exactly one row per name.
   */
  ensure(name: string): Promise<Channel>;
}
