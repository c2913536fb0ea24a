/**
 * Broker: moves already-encoded frames between gateway nodes. Nothing else.
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
 */
export interface Broker {
  publish(topic: string, bytes: Uint8Array): Promise<void>;
  subscribe(topic: string): Promise<void>;
  unsubscribe(topic: string): Promise<void>;
  /** One handler for every topic this node subscribes to. */
  onMessage(handler: (topic: string, bytes: Uint8Array) => void): void;
  healthy(): boolean;
  close(): Promise<void>;
}
