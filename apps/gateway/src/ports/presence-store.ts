import type { PresenceEntry } from '@parley/protocol';

/** One WebSocket connection present in one channel. */
export interface PresenceConn {
  connId: string;
  /** The lease owner the entry belongs to: one process lifetime of a node (`leaseOwner`). */
  nodeId: string;
  user: string;
  guest: boolean;
}

/**
 * A node's lease owner: `<PARLEY_NODE_ID>#<incarnation>`, the incarnation random per process start.
 * A node restarted under the same id (compose: fixed ids, `restart: unless-stopped`) is a new owner,
 * so the entries of its previous life can be told apart and reaped.
 */
export function leaseOwner(nodeId: string, incarnation: string): string {
  return `${nodeId}#${incarnation}`;
}

/** True if `owner` is a lease owner of node `nodeId`, in any incarnation (or one without: older versions). */
export function ownedByNode(owner: string, nodeId: string): boolean {
  return owner === nodeId || (owner.startsWith(`${nodeId}#`) && !owner.slice(nodeId.length + 1).includes('#'));
}

/**
 * What `heartbeat` found: `held` = the lease was there and is renewed; `new` = there was no lease
 * (a first start, or the store lost it: Redis restarted without persistence, a failover); `reaped`
 * = another node reaped this owner as dead (its leaves were announced) while it was still alive.
 */
export type LeaseState = 'held' | 'new' | 'reaped';

/**
 * Part of a channel's presence: at most the `max` users asked for (each once, in no promised
 * order) and how many users are online there in all. What a join reply or a presence state shows
 * of a crowded channel, read in O(max) rather than O(online).
 */
export interface PresencePage {
  members: PresenceEntry[];
  online: number;
}

/** What `release` found: the user's last connection in the channel, another one remains, or the connection was not there. */
export type Release = 'last' | 'more' | 'missing';

/**
 * PresenceStore: who is online per channel, and who is typing. Shared by every node.
 *
 * Contract:
 * - Presence is keyed by user; a user may hold several connections (tabs, nodes). `add` returns
 *   true only for the user's FIRST connection in the channel, `remove` only for the LAST, so a
 *   second tab is never a join and closing one of two tabs is never a leave. Connections are
 *   counted by id: adding one that is present changes nothing.
 * - Entries belong to a lease owner (`PresenceConn.nodeId`, see `leaseOwner`). `heartbeat(owner,
 *   ttlMs)` keeps its lease alive and says whether the store still had it; when a lease lapses (the
 *   process died without cleaning up), `reapNode` removes all of the owner's connections and
 *   returns exactly the (channel, user) pairs that became absent — each such leave once,
 *   cluster-wide — and marks the owner reaped, so its next `heartbeat` (had it been alive after
 *   all) answers `reaped`.
 * - `reassert` puts connections back that the store may have lost, idempotently (a present one is
 *   not counted twice): what a node does every heartbeat with the connections it holds.
 * - Typing: `setTyping` marks a user typing for `ttlMs`; it expires by itself. Never persisted.
 * - Failures reject; callers treat presence as best-effort and never lose chat messages over it.
 */
export interface PresenceStore {
  add(cid: number, conn: PresenceConn): Promise<boolean>;
  /** `add`, then the channel's presence as `page(cid, max)` returns it (all of it without `max`): a join's state, in one round trip where the store can. */
  join(cid: number, conn: PresenceConn, max?: number): Promise<{ first: boolean } & PresencePage>;
  remove(cid: number, conn: PresenceConn): Promise<boolean>;
  /** `remove` that also tells a missing connection (the store lost it, or it was reaped) from a remaining tab. */
  release(cid: number, conn: PresenceConn): Promise<Release>;
  /**
   * Adds every connection of `conns` (all in channel `cid`) that is not present, without counting a
   * present one twice. Returns the connIds it had to add (the store had lost them) and the users who
   * had no connection in the channel before (they became present again).
   */
  reassert(cid: number, conns: readonly PresenceConn[]): Promise<{ restored: string[]; joined: PresenceEntry[] }>;
  /** Everyone online in `cid`, each user once: O(online) — tests and small channels; the gateway reads `page`. */
  list(cid: number): Promise<PresenceEntry[]>;
  /** At most `max` of the users online in `cid` (all when that many or fewer) and how many are online. */
  page(cid: number, max: number): Promise<PresencePage>;
  /** Whether each of `users` is online in `cid` (in their order). */
  online(cid: number, users: readonly string[]): Promise<boolean[]>;
  /** Users currently typing in `cid` after marking `user` typing until now + ttlMs. */
  setTyping(cid: number, user: string, ttlMs: number): Promise<string[]>;
  /** Stop typing (e.g. the user sent a message); returns the remaining typers. */
  clearTyping(cid: number, user: string): Promise<string[]>;
  typing(cid: number): Promise<string[]>;
  heartbeat(owner: string, ttlMs: number): Promise<LeaseState>;
  /** Every owner holding a lease, lapsed or not (a starting node looks for its previous incarnations). */
  owners(): Promise<string[]>;
  /** Owners whose lease has lapsed. */
  deadNodes(): Promise<string[]>;
  /** Remove an owner's connections; returns the leaves, each (cid, user) once across all callers. */
  reapNode(owner: string): Promise<{ cid: number; user: string }[]>;
  close(): Promise<void>;
}
