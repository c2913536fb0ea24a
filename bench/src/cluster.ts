import { encodeRequest, Op } from '@parley/protocol';
import { withDatabase } from './database.js';
import { benchPrefix } from './redis-prefix.js';
import { type Server, startGateway } from './server.js';
import { signup } from './signup.js';
import { WireClient } from './wire-client.js';

/**
 * `count` gateway processes in cluster mode on REDIS_URL (default the local Redis): a throwaway
 * Postgres database and a unique Redis key prefix, both removed afterwards, as are the gateways.
 * Node ids are `<name>-1`, `<name>-2`, …
 */
export async function withGateways<T>(
  count: number,
  name: string,
  extraEnv: Record<string, string>,
  fn: (nodes: Server[], databaseUrl: string) => Promise<T>,
): Promise<T> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const { prefix, cleanup } = benchPrefix(redisUrl);
  try {
    return await withDatabase(async (databaseUrl) => {
      const env = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, PARLEY_REDIS_PREFIX: prefix, ...extraEnv };
      const started = await Promise.allSettled(
        Array.from({ length: count }, (_, i) => startGateway({ ...env, PARLEY_NODE_ID: `${name}-${i + 1}` })),
      );
      const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      try {
        const failed = started.find((s) => s.status === 'rejected');
        if (failed) throw failed.reason;
        return await fn(nodes, databaseUrl);
      } finally {
        await Promise.all(nodes.map((n) => n.stop()));
      }
    });
  } finally {
    await cleanup();
  }
}

/** Signs `owner` up on a gateway and creates the channels (guests cannot), then disconnects. */
export async function createChannels(url: string, owner: string, names: readonly string[]): Promise<void> {
  const c = new WireClient(url, `token=${await signup(url, owner)}`);
  try {
    await c.opened;
    for (const name of names) await c.request((rid) => encodeRequest({ op: Op.Create, rid, name }));
  } finally {
    c.close();
  }
}
