import type { PresenceEntry } from '@parley/protocol';

/** One WebSocket connection present in one channel. */
export interface PresenceConn {
  connId: string;
  nodeId: string;
  user: string;
  guest: boolean;
}

/**
 * PresenceStore: who is online per channel, and who is typing. Shared by every node.
 *
 * Contract:
 * - Presence is keyed by user; a user may hold several connections (tabs, nodes). `add` returns
 *   true only for the user's FIRST connection in the channel, `remove` only for the LAST, so a
 *   second tab is never a join and closing one of two tabs is never a leave.
 * - Entries belong to a node. `heartbeat(nodeId, ttlMs)` keeps that node's lease alive; when a
 *   lease lapses (the node died without cleaning up), `reapNode` removes all of its connections and
 *   returns exactly the (channel, user) pairs that became absent — each such leave once, cluster-wide.
 * - Typing: `setTyping` marks a user typing for `ttlMs`; it expires by itself. Never persisted.
 * - Failures reject; callers treat presence as best-effort and never lose chat messages over it.
 */
export interface PresenceStore {
  add(cid: number, conn: PresenceConn): Promise<boolean>;
  /** `add`, then the channel's presence as `list` returns it: a join's state, in one round trip where the store can. */
  join(cid: number, conn: PresenceConn): Promise<{ first: boolean; members: PresenceEntry[] }>;
  remove(cid: number, conn: PresenceConn): Promise<boolean>;
  list(cid: number): Promise<PresenceEntry[]>;
  /** Users currently typing in `cid` after marking `user` typing until now + ttlMs. */
  setTyping(cid: number, user: string, ttlMs: number): Promise<string[]>;
  /** Stop typing (e.g. the user sent a message); returns the remaining typers. */
  clearTyping(cid: number, user: string): Promise<string[]>;
  typing(cid: number): Promise<string[]>;
  heartbeat(nodeId: string, ttlMs: number): Promise<void>;
  /** Nodes whose lease has lapsed. */
  deadNodes(): Promise<string[]>;
  /** Remove a dead node's connections; returns the leaves, each (cid, user) once across all callers. */
  reapNode(nodeId: string): Promise<{ cid: number; user: string }[]>;
  close(): Promise<void>;
}
