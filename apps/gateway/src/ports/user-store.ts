export interface User {
  id: number;
  name: string;
  guest: boolean;
  /** Access tokens are valid only while the epoch they were issued in is the user's (0 for guests). */
  tokenEpoch: number;
}

/**
 * UserStore: registered accounts and guests. Registered and guest names share one namespace
 * (a guest can never take a registered name, and vice versa while the guest exists).
 *
 * Contract:
 * - `createAccount` returns null when the name is taken (by an account or a live guest).
 * - A connection starts a session in one round trip that also records the connection time:
 *   `openGuest(name)` creates the guest, or takes over the existing guest of that name (a guest
 *   reconnecting), and returns null when an account holds the name; `openAccount(id)` returns
 *   the account (null if it is gone or is a guest).
 * - `touch(ids)` records the last connection time of many users at once; `reapGuests(olderThanMs)`
 *   deletes guests whose last connection ended before now - olderThanMs and returns how many.
 *   Their messages stay (the author's name is kept on the message row).
 */
export interface UserStore {
  createAccount(name: string, passwordHash: string): Promise<User | null>;
  openGuest(name: string): Promise<User | null>;
  openAccount(id: number): Promise<User | null>;
  byName(name: string): Promise<(User & { passwordHash: string | null }) | null>;
  touch(userIds: readonly number[]): Promise<void>;
  reapGuests(olderThanMs: number): Promise<number>;
}
