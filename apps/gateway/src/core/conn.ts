import type { PresenceConn } from '../ports/presence-store.js';
import type { ChannelRoles } from './channel-roles.js';
import type { FrameLimits } from './rate-limit.js';

/**
 * Per-connection state kept in uWS user data. Server-side truth for membership checks.
 *
 * uWS copies these properties onto its WebSocket object, which lives as long as the connection:
 * 10,000 idle connections hold 10,000 of them, so nothing here is allocated before it is needed
 * (an idle connection costs a few small fields, no Map, no limiter objects, no id string).
 * Every property is present from the upgrade on (undefined until used) so all sockets share one
 * hidden class.
 */
export interface Conn {
  /** This node's number for the connection (a small integer: no per-connection string). */
  connId: number;
  /**
   * The client's address as per-address limits count it (http/address.ts allowanceKey): its
   * connections on this node, and a new guest's first join. '' once the socket is not counted.
   */
  addr: string;
  /**
   * The credentials to check, from the upgrade to `open` (which takes them); `authenticated` is
   * pending until the identity is known, and frames that arrive meanwhile wait for it.
   */
  pendingAuth: { token: string; guest: string; guestToken: string } | undefined;
  authenticated: Promise<boolean> | undefined;
  /**
   * 0 until authenticated. A guest without a row yet (it gets one on its first join) holds
   * -connId meanwhile: non-zero (authenticated), unique on this node, never a database id.
   */
  userId: number;
  user: string;
  guest: boolean;
  /** Guests: the id inside their guest token, which their row is created with (Chat.join). */
  guestTid: string | undefined;
  /** Channels this connection has joined, with the role it holds there; created on the first join. */
  channels: ChannelRoles | undefined;
  /** Its presence entry (the same in every channel); created on the first join. */
  presence: PresenceConn | undefined;
  /** Rate and abuse limits; created on the first frame. */
  limits: FrameLimits | undefined;
  /** Costly requests of this connection in flight (RequestBudget). */
  costly: number;
  /**
   * Settles when this connection's sends that had to wait for a mute check (a sanction-cache miss)
   * have reached the group commit; undefined when none is waiting (Chat.send).
   */
  sendGate: Promise<void> | undefined;
  open: boolean;
  /**
   * When (performance.now()) this node closed the socket for not reading (4101), else 0: one that
   * has still not taken its close a while later is cut, freeing what it buffers (gateway.ts).
   */
  slowSince: number;
}
