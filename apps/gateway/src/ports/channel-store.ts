import type { ChannelInfo, Role } from '@parley/protocol';

export interface Channel {
  cid: number;
  name: string;
  ownerId: number;
}
export interface Member {
  userId: number;
  user: string;
  role: Role;
}

/**
 * ChannelStore: channels and persisted membership with roles.
 *
 * Contract:
 * - Channel names are unique; `create` returns null when the name is taken.
 * - The creator becomes a member with role Owner. `join` adds a Member (or keeps an existing
 *   role) and is idempotent; on a channel that does not exist (deleted since it was looked up)
 *   it rejects with UnknownChannelError. `leave` removes the membership row.
 * - `list` returns every public channel with its persisted member count, by name.
 */
export interface ChannelStore {
  create(name: string, ownerId: number): Promise<Channel | null>;
  byName(name: string): Promise<Channel | null>;
  byId(cid: number): Promise<Channel | null>;
  list(): Promise<ChannelInfo[]>;
  join(cid: number, userId: number, role: Role): Promise<Role>;
  leave(cid: number, userId: number): Promise<void>;
  role(cid: number, userId: number): Promise<Role | null>;
  setRole(cid: number, userId: number, role: Role): Promise<void>;
  members(cid: number): Promise<Member[]>;
  delete(cid: number): Promise<void>;
  /**
   * Creates a public channel without an owner unless the name exists (then leaves it as it is).
   * Idempotent and safe when several nodes call it at once: exactly one row per name.
   */
  ensure(name: string): Promise<Channel>;
}
