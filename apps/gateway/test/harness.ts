import { randomBytes } from 'node:crypto';
import { ParleyClient, type ParleyClientOptions } from '@parley/client';
import { MemoryBus } from '../src/adapters/memory/memory-broker.js';
import { MemoryPresenceStore } from '../src/adapters/memory/memory-presence-store.js';
import { openPglite, openPostgres, type SqlDb } from '../src/adapters/sql/db.js';
import { SqlChannelStore } from '../src/adapters/sql/sql-channel-store.js';
import { SqlMessageStore } from '../src/adapters/sql/sql-message-store.js';
import { SqlModerationStore } from '../src/adapters/sql/sql-moderation-store.js';
import { buildPorts } from '../src/compose.js';
import { type Config, parseConfig } from '../src/config.js';
import { type Gateway, startGateway } from '../src/gateway.js';
import { createLogger } from '../src/logger.js';
import type { PresenceStore } from '../src/ports/presence-store.js';
import { provisionPostgres, provisionRedis } from './services.js';

export type Backend = 'pglite' | 'postgres';
export const BACKENDS: Backend[] = ['pglite', 'postgres'];

/**
 * A test world: one database (PGlite in a temp dir, or a fresh real Postgres database), an
 * in-process bus and presence store shared by every gateway node started in it, and SDK clients.
 */
export class World {
  readonly gateways: Gateway[] = [];
  readonly clients: ParleyClient[] = [];
  readonly bus = new MemoryBus();
  presence: PresenceStore = new MemoryPresenceStore();
  /** Every node of a world signs and checks tokens with the same secret, like a real deployment. */
  readonly jwtSecret = randomBytes(32).toString('hex');
  /** Set by `withRedis`: nodes then use the Redis broker, presence and recent window. */
  redis: { url: string; prefix: string; cleanup(): Promise<void> } | null = null;

  /** Postgres: the pool appends commit on, as a gateway in production has (compose.ts). */
  private appendDb: SqlDb | undefined;

  private constructor(
    readonly backend: Backend,
    private db: SqlDb,
    private readonly reopen: () => Promise<SqlDb>,
    private readonly drop: () => Promise<void>,
  ) {}

  /** Cluster mode: every node started from now on talks to real Redis under a fresh key prefix. */
  async withRedis(url?: string): Promise<this> {
    const r = await provisionRedis();
    this.redis = url ? { ...r, url } : r;
    return this;
  }

  static async create(backend: Backend): Promise<World> {
    if (backend === 'postgres') {
      const pg = await provisionPostgres();
      const w = new World(backend, openPostgres(pg.url), async () => openPostgres(pg.url), pg.drop);
      w.appendDb = openPostgres(pg.url, { max: 4 });
      return w;
    }
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'parley-pglite-'));
    return new World(
      backend,
      await openPglite(dir),
      () => openPglite(dir),
      () => rm(dir, { recursive: true, force: true }),
    );
  }

  /**
   * `wrapDb` gives this node its own view of the shared database (e.g. one that holds a statement);
   * `logs` collects the node's log records (set PARLEY_LOG_LEVEL too: tests log nothing by default).
   */
  async start(env: Record<string, string> = {}, wrapDb?: (db: SqlDb) => SqlDb, logs?: Record<string, unknown>[]): Promise<Gateway> {
    const config: Config = parseConfig({
      PARLEY_PORT: '0',
      PARLEY_HOST: '127.0.0.1',
      PARLEY_LOG_LEVEL: 'silent',
      PARLEY_NODE_ID: `n${this.gateways.length + 1}`,
      PARLEY_DRAIN_SPREAD_MS: '50',
      PARLEY_JWT_SECRET: this.jwtSecret,
      // Tests create the channels they use; opt in to default channels with this variable.
      PARLEY_DEFAULT_CHANNELS: '',
      // Every test's sign-ups and guests come from 127.0.0.1, and on Redis the allowances are the
      // whole world's: the tests of these allowances set their own.
      PARLEY_SIGNUPS_PER_ADDR: '100000',
      PARLEY_GUESTS_PER_ADDR: '0',
      ...(this.redis ? { REDIS_URL: this.redis.url, PARLEY_REDIS_PREFIX: this.redis.prefix } : {}),
      ...env,
    });
    const logger = createLogger(
      config.logLevel,
      config.nodeId,
      false,
      logs && { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const db = wrapDb ? wrapDb(this.db) : this.db;
    const appendDb = wrapDb ? undefined : this.appendDb;
    const shared = this.redis ? { db, appendDb } : { bus: this.bus, presence: this.presence, db, appendDb };
    const ports = await buildPorts(config, logger, shared);
    const gw = await startGateway(config, ports, logger);
    this.gateways.push(gw);
    return gw;
  }

  /** Simulates a full restart: every gateway stops, the database is closed and reopened. */
  async restart(env: Record<string, string> = {}): Promise<Gateway> {
    for (const c of this.clients) c.close();
    for (const g of this.gateways.splice(0)) await g.close();
    await this.db.close();
    this.db = await this.reopen();
    this.presence = new MemoryPresenceStore();
    return this.start(env);
  }

  async client(gw: Gateway, opts: Partial<ParleyClientOptions> = {}): Promise<ParleyClient> {
    const c = new ParleyClient({ url: gw.url, ...opts });
    this.clients.push(c);
    await c.connect();
    return c;
  }

  /** Signs up over a fresh HTTP connection (no keep-alive socket left holding the node's port). */
  async signup(gw: Gateway, username: string, password = 'correct horse battery'): Promise<string> {
    const { request } = await import('node:http');
    const body = JSON.stringify({ username, password });
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${gw.url}/auth/signup`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    if (status !== 201) throw new Error(`signup ${username}: ${status} ${text}`);
    return (JSON.parse(text) as { accessToken: string }).accessToken;
  }

  /** A registered user's connected client. */
  async user(gw: Gateway, name: string): Promise<ParleyClient> {
    return this.client(gw, { token: await this.signup(gw, name) });
  }

  /** The message store on the shared database, behind every node's back (seeding history). */
  messageStore(): SqlMessageStore {
    return new SqlMessageStore(this.db);
  }

  /** The channel store on the shared database, behind every node's back (races, set-ups). */
  channelStore(): SqlChannelStore {
    return new SqlChannelStore(this.db);
  }

  async channelId(name: string): Promise<number> {
    const ch = await this.channelStore().byName(name);
    if (!ch) throw new Error(`no channel ${name}`);
    return ch.cid;
  }

  /** A statement on the shared database, behind every node's back (assertions on rows). */
  query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.db.query<T>(sql, params);
  }

  /** The moderation audit log as an operator would read it. */
  auditLog(_gw: Gateway, limit = 200) {
    return new SqlModerationStore(this.db).auditLog(null, limit);
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    for (const g of this.gateways.splice(0)) await g.close();
    await this.appendDb?.close();
    await this.db.close();
    await this.drop();
    await this.redis?.cleanup();
  }
}

/** Resolves with the first event of `name` that matches, or rejects after `ms`. */
export function next<T>(client: ParleyClient, name: string, match: (e: T) => boolean = () => true, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${name}`));
    }, ms);
    const handler = (e: T) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    };
    // biome-ignore lint/suspicious/noExplicitAny: event names are checked by the SDK's typed overloads
    const c = client as any;
    c.on(name, handler);
    const off = () => c.off(name, handler);
  });
}
