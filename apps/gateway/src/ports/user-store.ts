export interface User {
  id: number;
  name: string;
  guest: boolean;
  /** Access tokens are valid only while the epoch they were issued in is the user's (0 for guests). */
  tokenEpoch: number;
}

/**
 * UserStore: registered accounts and guests. Registered and guest names share one namespace,
 * and a name is its look-alike class (core/names.ts `nameKey`): one user per class, so `alice`
 * and `aIice` cannot both exist.
 *
 * Contract:
 * - `createAccount` returns null when the name (its class) is held, by an account or a guest row.
 * - Guests are identified by a guest token's id (`tid`, a random string) and get a row only when
 *   they first need a user id (their first join), not when they connect:
 *   `openGuest(name, tid)` — a guest connecting: its row, touched (last connection time), when
 *   the row holding the name is a guest row created with this tid; 'free' when nobody holds the
 *   name; 'taken' when another guest does; 'account' when an account does; 'revoked' when an
 *   operator deleted the guest this tid belonged to (AdminStore.deleteUser), whoever holds the name.
 *   `claimGuest(name, tid)` creates the guest's row, or returns the existing one created with
 *   the same tid (a guest on two nodes gets one row: its id is the same everywhere); null when
 *   anyone else holds the name.
 * - `openAccount(id)` returns the account, recording the connection (null if gone or a guest).
 * - `byName` finds the holder of a name's class (the row of that exact name first, for rows that
 *   kept a look-alike name from before migration 007).
 * - `touch(ids)` records the last connection time of many users at once; `reapGuests(olderThanMs)`
 *   deletes guests whose last connection ended before now - olderThanMs and returns how many.
 *   Their messages stay (the author's name is kept on the message row).
 */
/** How long a guest token is valid; a deleted guest's token id is refused for as long (migration 015). */
export const GUEST_TOKEN_TTL_S = 30 * 86_400;

export interface UserStore {
  createAccount(name: string, passwordHash: string): Promise<User | null>;
  openGuest(name: string, tid: string): Promise<User | 'free' | 'taken' | 'account' | 'revoked'>;
  claimGuest(name: string, tid: string): Promise<User | null>;
  openAccount(id: number): Promise<User | null>;
  byName(name: string): Promise<(User & { passwordHash: string | null }) | null>;
  touch(userIds: readonly number[]): Promise<void>;
  reapGuests(olderThanMs: number): Promise<number>;
}
