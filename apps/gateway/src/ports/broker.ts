/** A chat message event to keep in the topic's recent-message window: its seq and its encoded frame. */
export interface Retained {
  seq: number;
  frame: Uint8Array;
}

/**
 * Broker: moves already-encoded frames between gateway nodes, and keeps the recent messages it
 * moved (the recent-message window resume is served from, when the adapter has one).
 *
 * Contract:
 * - `publish(topic, bytes)` delivers `bytes` to every OTHER node that is subscribed to `topic`
 *   (the origin node never hears its own publish: the hub has already delivered locally).
 * - At-most-once: a publish while the broker is down rejects; nothing is queued. Durability comes
 *   from the message store and resume, not from the broker.
 * - Order: publishes from one node to one topic arrive in publish order at each receiver.
 * - `subscribe` is idempotent per topic; the hub reference-counts local members and calls it once
 *   when a topic gains its first local member, `unsubscribe` when it loses its last.
 * - After a reconnect, the adapter restores every subscription by itself.
 * - `healthy()` is false while the broker cannot deliver; readiness reports it.
 * - `publish(topic, bytes, retain)`: an adapter with a recent-message window (Redis) adds the
 *   `retain.frames` (committed chat messages of channel `retain.cid`) to that channel's window in
 *   the SAME round trip as the publish — one call per channel per tick instead of two, measured
 *   as the largest per-message cost of the Redis client (bench/README.md). Best effort like the
 *   publish: a failure leaves the window incomplete, which its reader detects (it only serves
 *   ranges it can prove complete). Adapters without a window ignore `retain`.
 */
export interface Broker {
  publish(topic: string, bytes: Uint8Array, retain?: { cid: number; frames: readonly Retained[] }): Promise<void>;
  subscribe(topic: string): Promise<void>;
  unsubscribe(topic: string): Promise<void>;
  /** One handler for every topic this node subscribes to. */
  onMessage(handler: (topic: string, bytes: Uint8Array) => void): void;
  healthy(): boolean;
  close(): Promise<void>;
}
