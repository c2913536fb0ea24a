/**
 * One kind of allowance: `burst` attempts at once, refilled evenly over `windowMs`.
 * `name` keeps kinds apart (the same key, an address, has a login and a sign-up allowance).
 */
export interface AllowanceKind {
  readonly name: string;
  readonly burst: number;
  readonly windowMs: number;
}

/**
 * Attempt allowances (token buckets) by key — failed logins per username class and per address,
 * sign-ups per address — shared by every node that shares the store, so a client spread over N
 * gateways by a load balancer gets one allowance, not N.
 *
 * `take` is atomic: of two nodes taking the last attempt at once, one gets it.
 */
export interface AllowanceStore {
  /** Takes one attempt from `key`'s allowance: 0 when taken, else the ms until one is left (nothing taken). */
  take(kind: AllowanceKind, key: string): Promise<number>;
  /** Gives one attempt back (a success, or a request refused before it was checked); never above `burst`. */
  give(kind: AllowanceKind, key: string): Promise<void>;
}
