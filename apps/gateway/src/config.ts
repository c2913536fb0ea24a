import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { COMMIT_WAIT_DEFAULTS } from './core/group-commit.js';

/**
 * Configuration, parsed ONCE from PARLEY_* environment variables (plus the conventional
 * DATABASE_URL / REDIS_URL). Nothing else in the gateway reads process.env. Every problem is
 * reported at once.
 */
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const schema = z.object({
  /** HTTP + WebSocket port; 0 = ephemeral (tests). */
  PARLEY_PORT: int(8080),
  PARLEY_HOST: z.string().default('0.0.0.0'),
  /**
   * Connections the kernel may hold completed for the gateway before it accepts them (a connect
   * burst lands while the event loop is busy). uWS listens with a fixed backlog of 512, so the
   * gateway opens ceil(this / 512) SO_REUSEPORT listen sockets on its port (listen.ts); each is
   * also capped by net.core.somaxconn. Past it the kernel drops SYNs: clients retry after 1 s, 3 s…
   */
  PARLEY_LISTEN_BACKLOG: z.coerce.number().int().min(512).max(65_536).default(4096),
  /**
   * HMAC secret for HS256 access and guest tokens; every gateway of a deployment needs the same.
   * Required with DATABASE_URL or REDIS_URL. Unset in embedded mode: generated once and kept in
   * PARLEY_DATA_DIR/jwt-secret (random per process with PARLEY_DATA_DIR=memory://), see jwt-secret.ts.
   */
  PARLEY_JWT_SECRET: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16).optional()),
  /** Access token lifetime. */
  PARLEY_JWT_TTL_S: int(86_400, 60),
  /** PGlite data directory used when DATABASE_URL is not set; 'memory://' keeps nothing. */
  PARLEY_DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z.string().url().optional(),
  /** redis://host:port (standalone) or redis+cluster://host:port,host:port (Redis Cluster, sharded pub/sub). */
  REDIS_URL: z
    .string()
    .regex(/^rediss?(\+cluster)?:\/\/\S+$/, 'expected redis://host:port or redis+cluster://host:port,host:port')
    .optional(),
  /** Redis key / channel prefix (lets several deployments or tests share one Redis). */
  PARLEY_REDIS_PREFIX: z.string().default('parley:'),
  /** Node id in logs, presence leases and metrics; random when unset. */
  PARLEY_NODE_ID: z.string().optional(),
  /** Largest WebSocket message accepted; larger ones get error 103 and a 1009 close. */
  PARLEY_MAX_PAYLOAD: int(16 * 1024, 256),
  /** Frames above this are not even buffered by uWS: the socket is dropped (1006). */
  PARLEY_HARD_MAX_PAYLOAD: int(2 * 1024 * 1024, 1024),
  /** Per-connection send buffer above which ephemeral events (typing, presence) are shed. */
  PARLEY_SHED_BYTES: int(256 * 1024, 1024),
  /** Per-connection send buffer cap; past it the client is closed with 4101 and resumes later. */
  PARLEY_MAX_BACKPRESSURE: int(1024 * 1024, 4096),
  /**
   * What all of a node's connections may buffer together; past it the largest are closed with 4101
   * (they resume later), checked a few times a second (core/send-budget.ts).
   */
  PARLEY_NODE_MAX_BACKPRESSURE: int(256 * 1024 * 1024, 4096),
  /**
   * Write coalescing window, per channel: a channel's events, from this node and from the others,
   * leave for its sockets at most once per window, so a busy channel costs one WebSocket write per
   * receiver per window instead of one per event; a channel that has not delivered within the
   * window goes out on the next tick (a busy channel never delays a quiet one). Forwarding to the
   * other nodes is never windowed. 0 (default) = every event-loop tick, which already merges what
   * arrived in that tick. Measured in bench/ (bench/README.md): 20 ms saves a few % of gateway CPU
   * at ≥ 100k deliveries/s and adds ~6 ms of p50 at 50k/s, so it stays off.
   */
  PARLEY_COALESCE_MS: z.coerce.number().int().min(0).max(1000).default(0),
  /** Idle timeout in seconds (uWS sends pings; a silent socket is closed). */
  PARLEY_IDLE_TIMEOUT_S: int(60, 8),
  /** Token bucket per connection: sustained frames/s and burst. */
  PARLEY_RATE_PER_S: int(20, 1),
  PARLEY_RATE_BURST: int(40, 1),
  /** Rate-limit violations within 10 s before the connection is closed with 4008. */
  PARLEY_RATE_STRIKES: int(50, 1),
  /** Malformed frames (undecodable, text, wrong fields) within 10 s before the connection is closed with 4002. */
  PARLEY_BAD_FRAME_STRIKES: int(10, 1),
  /**
   * Costly requests (history, members, list, join, create) in flight at once, per node and per
   * connection; beyond either the request is refused at once with error 401 Busy and a
   * retry-after. Keep the node cap below the database pool (10 connections), so other work
   * (sanction checks, moderation, sign-ins) always finds a free connection.
   */
  PARLEY_COSTLY_PER_NODE: int(8, 1),
  PARLEY_COSTLY_PER_CONN: int(2, 1),
  /**
   * Connections one account may hold on one node (tabs, devices); one more is closed with 4009.
   * Per node: behind a load balancer an account can reach this many on each node.
   */
  PARLEY_MAX_CONNS_PER_USER: int(10, 1),
  /**
   * WebSocket connections one source address (an IPv4 address, an IPv6 /64) may hold on one node;
   * one more is closed with 4009 and a reason. 0 = no limit. One address must not take every
   * socket (file descriptor) a node has; behind a load balancer, set PARLEY_TRUST_PROXY or every
   * client has the balancer's address.
   */
  PARLEY_MAX_CONNS_PER_ADDR: int(1000, 0),
  /**
   * Bearer token of the admin HTTP API (/admin/…, docs/admin-api.md), at least 24 characters.
   * Unset or empty: the admin API answers 403 on every route.
   */
  PARLEY_ADMIN_TOKEN: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(24, 'at least 24 characters').optional()),
  /** Typing indicator lifetime. */
  PARLEY_TYPING_TTL_MS: int(5000, 500),
  /** Guests are removed this long after their last connection ended (their messages stay). */
  PARLEY_GUEST_TTL_S: int(86_400, 1),
  /**
   * Failed logins allowed per username, and per source address, in a burst; the allowance refills
   * evenly over 5 minutes (a token bucket, the cluster's in Redis: ports/allowances.ts). Past it: 429 with Retry-After.
   */
  PARLEY_LOGIN_FAILS_PER_USER: int(10, 1),
  PARLEY_LOGIN_FAILS_PER_ADDR: int(50, 1),
  /**
   * Account sign-ups allowed per source address in a burst; the allowance refills evenly over an
   * hour (a token bucket, the cluster's). Past it: 429 with Retry-After. Each sign-up costs an argon2
   * hash and takes a name from the namespace, so one address cannot mint accounts by the hundred.
   */
  PARLEY_SIGNUPS_PER_ADDR: int(20, 1),
  /**
   * New guests (a guest's first join gives it a row and holds its name for PARLEY_GUEST_TTL_S)
   * allowed per source address in a burst, refilled evenly over an hour; past it the join is
   * refused (RateLimited, with the wait). 0 = no limit. A returning guest (its token's row lives)
   * takes nothing. Raise it for many guests behind one NAT (a school, a conference).
   */
  PARLEY_GUESTS_PER_ADDR: int(100, 0),
  /**
   * Password hashes (argon2id: sign-ups and logins) in progress at once per node; 32 × this more
   * wait, and beyond that a sign-up or login is refused with 503 + Retry-After. Each takes a core
   * for tens of milliseconds on the libuv threadpool: bounded, a flood of them leaves the event loop
   * a core and the threadpool free for DNS lookups and file reads. Default: half the cores.
   */
  PARLEY_PASSWORD_HASHES: int(Math.max(1, Math.floor(availableParallelism() / 2)), 1),
  /**
   * Behind a proxy that sets X-Forwarded-For (HAProxy's `option forwardfor`): the client address
   * for login throttling is the last entry of that header instead of the TCP peer's.
   */
  PARLEY_TRUST_PROXY: bool.default(false),
  /**
   * Largest group-commit batch. A cap of 500 held closed-loop senders (bench durable, 1,600 sends in
   * flight) to ~500 per commit and 10–20 % fewer acked sends/s than 2,000 (bench/README.md).
   */
  PARLEY_COMMIT_BATCH: int(2000, 1),
  /**
   * Group-commit lanes: transactions in flight at once per node (channels are spread over them).
   * One lane puts every channel's pending sends in one transaction: fewest commits per message.
   */
  PARLEY_COMMIT_LANES: int(1, 1),
  /**
   * The most a group commit waits for more sends, in ms (fractions allowed), and only on a busy
   * node (PARLEY_COMMIT_BUSY_RATE): a batch then waits until its oldest send has waited
   * PARLEY_COMMIT_LINGER_GAPS mean gaps or this, whichever is less, and a commit carries about that
   * many more messages instead of 1 (group-commit.ts). 0 = never wait (commit on the next tick).
   */
  PARLEY_COMMIT_MAX_WAIT_MS: z.coerce.number().min(0).max(50).default(COMMIT_WAIT_DEFAULTS.maxWaitMs),
  /**
   * How many mean gaps between sends a busy node's batch waits for company (capped at
   * PARLEY_COMMIT_MAX_WAIT_MS): more messages per commit — less CPU per message for Postgres and
   * the gateway — for that much more latency. What each setting buys is measured in bench/README.md.
   */
  PARLEY_COMMIT_LINGER_GAPS: z.coerce.number().min(1).max(64).default(COMMIT_WAIT_DEFAULTS.lingerGaps),
  /**
   * Sends per second per node (per commit lane) from which the group commit waits for company;
   * a quieter node commits each send on the next tick, whatever the cap. 0 = at any rate.
   */
  PARLEY_COMMIT_BUSY_RATE: int(COMMIT_WAIT_DEFAULTS.busyRate, 0),
  /** Most channels one user may own: creating (or being handed) one more is refused with error 410. */
  PARLEY_MAX_CHANNELS_PER_USER: int(50, 1),
  /**
   * Most channels one connection may be joined to at once: one more join is refused with error 410
   * (leave one first). Each joined channel costs the node a subscription, a presence entry it
   * re-asserts every lease period, and a scan on each of that connection's requests.
   */
  PARLEY_MAX_JOINS_PER_CONN: int(100, 1),
  /**
   * Most people listed in a channel's presence (a Join reply, a PresenceState); beyond it the list
   * is that many and the frame says how many are online in all. Diffs flow for everyone.
   */
  PARLEY_PRESENCE_LIST_MAX: int(1000, 1),
  /** Most different emojis on one message: a new emoji past it is refused with error 410 (more users may add an existing one). */
  PARLEY_MAX_REACTIONS_PER_MESSAGE: z.coerce.number().int().min(1).max(1000).default(20),
  /** Comma-separated allowed Origins for browser WebSocket upgrades; empty = allow all. */
  PARLEY_ALLOWED_ORIGINS: z.string().default(''),
  /** Drain: how long clients are spread over when told to reconnect elsewhere. */
  PARLEY_DRAIN_SPREAD_MS: int(2000, 0),
  PARLEY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Human-readable coloured log lines (pino-pretty) instead of JSON: for development. */
  PARLEY_LOG_PRETTY: bool.default(false),
  /** Allow running on the uWebSockets.js JS fallback (never in production; for debugging only). */
  PARLEY_ALLOW_UWS_FALLBACK: bool.default(false),
  /** The built web client (apps/web/dist) served at `/`; empty = the repo's apps/web/dist. */
  PARLEY_WEB_DIR: z.string().default(''),
  /** Channels created at start if missing (comma-separated; empty = none), so a fresh server is usable by guests. */
  PARLEY_DEFAULT_CHANNELS: z
    .string()
    .default('general')
    .refine((v) => v.split(',').every((n) => !n.trim() || /^[a-z0-9_-]{1,64}$/.test(n.trim())), 'channel names: a-z, 0-9, - and _'),
  NODE_ENV: z.string().default('development'),
});

export interface Config {
  port: number;
  host: string;
  listenBacklog: number;
  /** Null in embedded mode when unset: generated and kept in the data directory (jwt-secret.ts). */
  jwtSecret: string | null;
  jwtTtlS: number;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  redisPrefix: string;
  nodeId: string;
  maxPayload: number;
  hardMaxPayload: number;
  shedBytes: number;
  maxBackpressure: number;
  nodeMaxBackpressure: number;
  coalesceMs: number;
  idleTimeoutS: number;
  ratePerS: number;
  rateBurst: number;
  rateStrikes: number;
  badFrameStrikes: number;
  costlyPerNode: number;
  costlyPerConn: number;
  maxConnsPerUser: number;
  /** 0 = no limit. */
  maxConnsPerAddr: number;
  typingTtlMs: number;
  guestTtlS: number;
  loginFailsPerUser: number;
  loginFailsPerAddr: number;
  signupsPerAddr: number;
  /** 0 = no limit. */
  guestsPerAddr: number;
  passwordHashes: number;
  trustProxy: boolean;
  commitBatch: number;
  commitLanes: number;
  commitMaxWaitMs: number;
  commitLingerGaps: number;
  commitBusyRate: number;
  maxChannelsPerUser: number;
  maxReactionsPerMessage: number;
  maxJoinsPerConn: number;
  presenceListMax: number;
  allowedOrigins: string[];
  drainSpreadMs: number;
  logLevel: string;
  logPretty: boolean;
  allowUwsFallback: boolean;
  /** Null: the admin API is disabled. */
  adminToken: string | null;
  /** Directory of the built web client; empty = apps/web/dist. */
  webDir: string;
  /** Channels that exist from the first start (created idempotently). */
  defaultChannels: string[];
}

/** Secrets that earlier versions shipped as defaults: anyone can sign tokens with them. */
const PUBLIC_SECRETS = ['parley-dev-secret-change-me', 'compose-only-secret-change-me-0123456789'];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const r = schema.safeParse(env);
  if (!r.success) {
    throw new ConfigError(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = r.data;
  const problems: string[] = [];
  // Only a lone embedded node (no DATABASE_URL, no REDIS_URL) may generate its own secret: nodes
  // sharing a database or a broker must share one.
  if (!e.PARLEY_JWT_SECRET && (e.DATABASE_URL || e.REDIS_URL)) {
    problems.push(
      `PARLEY_JWT_SECRET: required with ${e.DATABASE_URL ? 'DATABASE_URL' : 'REDIS_URL'} (every gateway signs and checks tokens with it); generate one with \`openssl rand -hex 32\``,
    );
  }
  if (e.PARLEY_JWT_SECRET && PUBLIC_SECRETS.includes(e.PARLEY_JWT_SECRET)) {
    problems.push('PARLEY_JWT_SECRET: this value was published as an example; generate one with `openssl rand -hex 32`');
  }
  if (e.PARLEY_MAX_PAYLOAD > e.PARLEY_HARD_MAX_PAYLOAD) {
    problems.push('PARLEY_MAX_PAYLOAD must not exceed PARLEY_HARD_MAX_PAYLOAD');
  }
  if (e.PARLEY_SHED_BYTES >= e.PARLEY_MAX_BACKPRESSURE) {
    problems.push('PARLEY_SHED_BYTES must be below PARLEY_MAX_BACKPRESSURE');
  }
  if (e.PARLEY_NODE_MAX_BACKPRESSURE < e.PARLEY_MAX_BACKPRESSURE) {
    problems.push('PARLEY_NODE_MAX_BACKPRESSURE must be at least PARLEY_MAX_BACKPRESSURE');
  }
  if (problems.length) throw new ConfigError(problems);
  return {
    port: e.PARLEY_PORT,
    host: e.PARLEY_HOST,
    listenBacklog: e.PARLEY_LISTEN_BACKLOG,
    jwtSecret: e.PARLEY_JWT_SECRET ?? null,
    jwtTtlS: e.PARLEY_JWT_TTL_S,
    dataDir: e.PARLEY_DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.PARLEY_REDIS_PREFIX,
    nodeId: e.PARLEY_NODE_ID ?? `gw-${Math.random().toString(36).slice(2, 8)}`,
    maxPayload: e.PARLEY_MAX_PAYLOAD,
    hardMaxPayload: e.PARLEY_HARD_MAX_PAYLOAD,
    shedBytes: e.PARLEY_SHED_BYTES,
    maxBackpressure: e.PARLEY_MAX_BACKPRESSURE,
    nodeMaxBackpressure: e.PARLEY_NODE_MAX_BACKPRESSURE,
    coalesceMs: e.PARLEY_COALESCE_MS,
    idleTimeoutS: e.PARLEY_IDLE_TIMEOUT_S,
    ratePerS: e.PARLEY_RATE_PER_S,
    rateBurst: e.PARLEY_RATE_BURST,
    rateStrikes: e.PARLEY_RATE_STRIKES,
    badFrameStrikes: e.PARLEY_BAD_FRAME_STRIKES,
    costlyPerNode: e.PARLEY_COSTLY_PER_NODE,
    costlyPerConn: e.PARLEY_COSTLY_PER_CONN,
    maxConnsPerUser: e.PARLEY_MAX_CONNS_PER_USER,
    maxConnsPerAddr: e.PARLEY_MAX_CONNS_PER_ADDR,
    typingTtlMs: e.PARLEY_TYPING_TTL_MS,
    guestTtlS: e.PARLEY_GUEST_TTL_S,
    loginFailsPerUser: e.PARLEY_LOGIN_FAILS_PER_USER,
    loginFailsPerAddr: e.PARLEY_LOGIN_FAILS_PER_ADDR,
    signupsPerAddr: e.PARLEY_SIGNUPS_PER_ADDR,
    guestsPerAddr: e.PARLEY_GUESTS_PER_ADDR,
    passwordHashes: e.PARLEY_PASSWORD_HASHES,
    trustProxy: e.PARLEY_TRUST_PROXY,
    commitBatch: e.PARLEY_COMMIT_BATCH,
    commitLanes: e.PARLEY_COMMIT_LANES,
    commitMaxWaitMs: e.PARLEY_COMMIT_MAX_WAIT_MS,
    commitLingerGaps: e.PARLEY_COMMIT_LINGER_GAPS,
    commitBusyRate: e.PARLEY_COMMIT_BUSY_RATE,
    maxChannelsPerUser: e.PARLEY_MAX_CHANNELS_PER_USER,
    maxReactionsPerMessage: e.PARLEY_MAX_REACTIONS_PER_MESSAGE,
    maxJoinsPerConn: e.PARLEY_MAX_JOINS_PER_CONN,
    presenceListMax: e.PARLEY_PRESENCE_LIST_MAX,
    allowedOrigins: e.PARLEY_ALLOWED_ORIGINS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    drainSpreadMs: e.PARLEY_DRAIN_SPREAD_MS,
    logLevel: e.PARLEY_LOG_LEVEL,
    logPretty: e.PARLEY_LOG_PRETTY,
    allowUwsFallback: e.PARLEY_ALLOW_UWS_FALLBACK,
    adminToken: e.PARLEY_ADMIN_TOKEN ?? null,
    webDir: e.PARLEY_WEB_DIR,
    defaultChannels: e.PARLEY_DEFAULT_CHANNELS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}
