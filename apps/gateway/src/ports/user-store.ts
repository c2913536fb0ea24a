export interface User {
  id: number;
  name: string;
  guest: boolean;
}

/**
 * UserStore: registered accounts and guests. Registered and guest names share one namespace
 * (a guest can never take a registered name, and vice versa while the guest exists).
 *
 * Contract:
 * - `createAccount` returns null when the name is taken (by an account or a live guest).
 * - `createGuest` returns null when the name is taken.
 * - `touch` records the last connection time; `reapGuests(olderThanMs)` deletes guests whose last
 *   connection ended before now - olderThanMs and returns how many. Their messages stay (the
 *   author's name is kept on the message row).
 */
export interface UserStore {
  createAccount(name: string, passwordHash: string): Promise<User | null>;
  createGuest(name: string): Promise<User | null>;
  byName(name: string): Promise<(User & { passwordHash: string | null }) | null>;
  byId(id: number): Promise<User | null>;
  touch(userId: number): Promise<void>;
  reapGuests(olderThanMs: number): Promise<number>;
}
