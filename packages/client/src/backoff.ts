import type { ReconnectOptions } from './types.js';

export const DEFAULT_RECONNECT: ReconnectOptions = { minMs: 100, maxMs: 10_000 };

/**
 * Exponential backoff with full jitter (uniform in [0, min(max, min·2^attempt)]): after a node
 * dies, all its clients reconnect at once, and full jitter spreads them out the most.
 */
export function backoffDelay(attempt: number, opts: ReconnectOptions, random: () => number = Math.random): number {
  const cap = Math.min(opts.maxMs, opts.minMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

/** Close codes 4000–4099 mean "do not come back unchanged" (bad token, abuse, version); all others are retried. */
export function shouldReconnect(closeCode: number): boolean {
  return !(closeCode >= 4000 && closeCode < 4100);
}
