import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * Opens Redis connections from one URL, standalone or Redis Cluster:
 *
 *   redis://[user:pass@]host:port[/db]                      standalone (rediss:// for TLS)
 *   redis+cluster://[user:pass@]host:port[,host:port...]   Redis Cluster; the hosts are seed nodes,
 *                                                            the rest is discovered (rediss+cluster:// for TLS)
 *
 * Cluster mode needs Redis >= 7: the broker uses sharded pub/sub (SPUBLISH/SSUBSCRIBE).
 */
export type RedisClient = Redis | Cluster;

export type RedisTarget =
  | { mode: 'standalone'; url: string }
  | { mode: 'cluster'; nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean };

export function parseRedisUrl(url: string): RedisTarget {
  const m = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/.exec(url);
  if (!m) {
    if (!/^rediss?:\/\//.test(url)) throw new Error(`not a Redis URL (redis://, rediss://, redis+cluster://): ${url}`);
    return { mode: 'standalone', url };
  }
  const [, scheme, auth, hosts] = m;
  const nodes = hosts!.split(',').map((hp) => {
    const i = hp.lastIndexOf(':');
    const port = i < 0 ? 6379 : Number(hp.slice(i + 1));
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad port in Redis cluster URL: ${hp}`);
    return { host: i < 0 ? hp : hp.slice(0, i), port };
  });
  const target: RedisTarget = { mode: 'cluster', nodes, tls: scheme === 'rediss' };
  if (auth) {
    const j = auth.indexOf(':');
    if (j < 0) target.password = decodeURIComponent(auth);
    else {
      if (j > 0) target.username = decodeURIComponent(auth.slice(0, j));
      target.password = decodeURIComponent(auth.slice(j + 1));
    }
  }
  return target;
}

/**
 * What a connection is for:
 * - `commands` (default): presence and other keys; commands issued while reconnecting wait in
 *   the offline queue for up to 2 reconnect attempts, then reject.
 * - `publisher`: no offline queue and no resend after a reconnect, so a publish while Redis is
 *   down rejects at once (the broker's at-most-once contract).
 * - `subscriber`: subscriptions issued while reconnecting wait for the connection; in cluster
 *   mode one sharded subscriber connection per master (`shardedSubscribers`).
 */
export type ConnectionRole = 'commands' | 'publisher' | 'subscriber';

export interface ConnectOptions {
  role?: ConnectionRole;
  /** CLIENT SETNAME, so operators (and tests) can find the connection in CLIENT LIST. */
  name?: string;
}

/** Reconnect quickly and keep trying: a gateway without Redis is not ready, but it stays up. */
const backoff = (times: number) => Math.min(times * 50, 1000);

export function connectRedis(url: string, opts: ConnectOptions = {}): RedisClient {
  const role = opts.role ?? 'commands';
  const target = parseRedisUrl(url);
  const common: RedisOptions = {
    ...(opts.name ? { connectionName: opts.name } : {}),
    ...(role === 'publisher' ? { autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 } : {}),
    ...(role === 'subscriber' ? { maxRetriesPerRequest: null } : {}),
    ...(role === 'commands' ? { maxRetriesPerRequest: 2 } : {}),
    // A forced reconnect of a silently dead broker connection should not wait 2 s for a FIN.
    ...(role !== 'commands' ? { disconnectTimeout: 300 } : {}),
  };
  if (target.mode === 'standalone') {
    return new Redis(target.url, { ...common, retryStrategy: backoff, enableOfflineQueue: role !== 'publisher' });
  }
  return new Cluster(target.nodes, {
    clusterRetryStrategy: backoff,
    enableOfflineQueue: role !== 'publisher',
    shardedSubscribers: role === 'subscriber',
    redisOptions: {
      ...common,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    },
  });
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}
