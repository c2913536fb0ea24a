import { expect, vi } from 'vitest';
import type { RedisBroker } from '../src/adapters/redis/redis-broker.js';

/**
 * Until the broker's `healthy()` reads `want`. Before publishing with a fresh broker: a Cluster
 * client has no offline queue, so a publish before both connections are up is refused ("Cluster
 * isn't ready"), not queued.
 */
export async function brokerHealthy(b: RedisBroker, want = true): Promise<void> {
  await vi.waitFor(() => expect(b.healthy()).toBe(want), { timeout: 10_000, interval: 5 });
}
