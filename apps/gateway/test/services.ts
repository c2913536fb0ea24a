import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { Redis } from 'ioredis';
import postgres from 'postgres';

/**
 * Real Postgres and Redis for integration tests. Every test gets its own database / key prefix,
 * so tests run in parallel and against servers that outlive them.
 *
 * Where a server comes from, first match wins:
 *   1. DATABASE_URL / REDIS_URL (a Postgres URL whose user may CREATE DATABASE);
 *   2. a server on the default local port (127.0.0.1:5432 as user postgres, 127.0.0.1:6379);
 *   3. a container via testcontainers, if a Docker daemon is reachable (one per process; the
 *      global setup starts it once per run and passes it on through the env variables);
 *   4. otherwise an Error that says how to provide one. Never a silent skip.
 */

const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432/postgres';
const LOCAL_REDIS = 'redis://127.0.0.1:6379';
const PG_IMAGE = 'postgres:15-alpine';
const REDIS_IMAGE = 'redis:7-alpine';

export interface Service {
  url: string;
  /** Set when this process started a container for it. */
  stop?: () => Promise<void>;
}

function tcpOpen(host: string, port: number, timeoutMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Checked before testcontainers is imported: without Docker it only fails slowly. */
export async function dockerReachable(): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  if (host) {
    if (host.startsWith('unix://'))
      return access(host.slice('unix://'.length)).then(
        () => true,
        () => false,
      );
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    return tcpOpen(u.hostname, Number(u.port || 2375));
  }
  for (const sock of ['/var/run/docker.sock', `${homedir()}/.docker/run/docker.sock`]) {
    if (
      await access(sock).then(
        () => true,
        () => false,
      )
    )
      return true;
  }
  return false;
}

export async function findPostgres(): Promise<Service> {
  const env = process.env.DATABASE_URL;
  if (env) return { url: env };
  if (await tcpOpen('127.0.0.1', 5432)) return { url: LOCAL_PG };
  if (await dockerReachable()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const c = await new PostgreSqlContainer(PG_IMAGE).start();
    return { url: c.getConnectionUri(), stop: async () => void (await c.stop()) };
  }
  throw new Error(
    'No PostgreSQL for integration tests. Set DATABASE_URL=postgres://USER@HOST:PORT/postgres ' +
      '(a user allowed to CREATE DATABASE), or start one on 127.0.0.1:5432 (user postgres), ' +
      'or start Docker so testcontainers can run postgres:15.',
  );
}

export async function findRedis(): Promise<Service> {
  const env = process.env.REDIS_URL;
  if (env) return { url: env };
  if (await tcpOpen('127.0.0.1', 6379)) return { url: LOCAL_REDIS };
  if (await dockerReachable()) {
    const { RedisContainer } = await import('@testcontainers/redis');
    const c = await new RedisContainer(REDIS_IMAGE).start();
    return { url: c.getConnectionUrl(), stop: async () => void (await c.stop()) };
  }
  throw new Error(
    'No Redis for integration tests. Set REDIS_URL=redis://HOST:6379 (Redis >= 7), ' +
      'or start one on 127.0.0.1:6379, or start Docker so testcontainers can run redis:7.',
  );
}

// Discovered once per process; containers started here are reaped by testcontainers' Ryuk.
let pgServer: Promise<Service> | undefined;
let redisServer: Promise<Service> | undefined;

const suffix = () => `${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

/** A fresh, empty database on the test server; `drop` removes it (and kicks its connections). */
export async function provisionPostgres(): Promise<{ url: string; drop(): Promise<void> }> {
  pgServer ??= findPostgres();
  const server = await pgServer;
  const name = `parley_test_${suffix()}`;
  const admin = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(server.url, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}

/** A unique key prefix on the test Redis; `cleanup` deletes every key under it. */
export async function provisionRedis(): Promise<{ url: string; prefix: string; cleanup(): Promise<void> }> {
  redisServer ??= findRedis();
  const server = await redisServer;
  const prefix = `parley_test_${suffix()}:`;
  return {
    url: server.url,
    prefix,
    async cleanup() {
      const r = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await r.connect();
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await r.unlink(...keys);
        } while (cursor !== '0');
      } finally {
        r.disconnect();
      }
    },
  };
}
