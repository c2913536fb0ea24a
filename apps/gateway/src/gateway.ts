import { CloseCode, ErrorCode, encodeEvent, Op, SUBPROTOCOL, SUBPROTOCOL_PREFIX } from '@parley/protocol';
import { MemoryAllowances } from './adapters/memory/memory-allowances.js';
import type { Config } from './config.js';
import { RequestBudget, StallClock } from './core/budget.js';
import { Chat } from './core/chat.js';
import type { Conn } from './core/conn.js';
import { ConnsPerAddress } from './core/conns-per-address.js';
import { ensureDefaultChannels } from './core/default-channels.js';
import { Hub } from './core/hub.js';
import { Moderation } from './core/moderation.js';
import { Outbox } from './core/outbox.js';
import { boundPresence } from './core/presence-bound.js';
import { LEASE_TTL_MS, PresenceLease } from './core/presence-lease.js';
import { SanctionCache } from './core/sanctions.js';
import { overBudget } from './core/send-budget.js';
import { allowanceKey, canonicalAddress } from './http/address.js';
import { mountAdmin } from './http/admin.js';
import { AuthError, AuthService, type Identity } from './http/auth.js';
import { clientAddress, guard, HttpError, readJson, send, sendJson, upgradeRequired } from './http/http-util.js';
import { DEFAULT_WEB_DIR, loadSite, mountStatic } from './http/static.js';
import { resolveJwtSecret } from './jwt-secret.js';
import { listenWithBacklog, UWS_LISTEN_BACKLOG } from './listen.js';
import type { Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import type { AdminStore } from './ports/admin-store.js';
import type { AllowanceStore } from './ports/allowances.js';
import type { Broker } from './ports/broker.js';
import type { ChannelStore } from './ports/channel-store.js';
import type { MessageStore } from './ports/message-store.js';
import type { ModerationStore } from './ports/moderation-store.js';
import type { PresenceStore } from './ports/presence-store.js';
import type { UserStore } from './ports/user-store.js';
import { ProtectionLog } from './protection-log.js';
import { requireNativeUws, uWS } from './uws.js';

/** How often the node's send budget is checked (core/send-budget.ts). */
const SEND_BUDGET_SWEEP_MS = 250;
/** How long a socket closed for not reading (4101) has to read what it buffered and its close, before it is cut. */
const SLOW_CLOSE_GRACE_MS = 10_000;

export interface Ports {
  broker: Broker;
  presence: PresenceStore;
  messages: MessageStore;
  channels: ChannelStore;
  users: UserStore;
  moderation: ModerationStore;
  admin: AdminStore;
  /** Login, sign-up and new-guest allowances (absent: this node's memory). */
  allowances?: AllowanceStore;
  /** Resolves when the database answers (readiness). */
  pingDb(): Promise<void>;
  /** Optimistic appends refused because a cmid repeated (SqlMessageStore), for /metrics. */
  optimisticRefused?(): number;
  /** Closes every adapter (after drain). */
  close(): Promise<void>;
}

export interface Gateway {
  port: number;
  url: string;
  nodeId: string;
  chat: Chat;
  /** SIGTERM path: readiness false, stop accepting, tell clients to reconnect elsewhere, flush, close. */
  drain(): Promise<void>;
  /** Immediate stop (tests). */
  close(): Promise<void>;
}

export async function startGateway(config: Config, ports: Ports, logger: Logger): Promise<Gateway> {
  const native = requireNativeUws(logger, config.allowUwsFallback);
  const metrics = createMetrics(config.nodeId, native);
  if (ports.optimisticRefused) metrics.watchOptimisticRefused(ports.optimisticRefused);
  const app = uWS.App();
  const outbox = new Outbox(metrics);
  const sanctions = new SanctionCache(ports.moderation);
  // Login, sign-up and new-guest allowances: the cluster's (Redis), else this node's.
  const allowances = ports.allowances ?? new MemoryAllowances();
  const auth = new AuthService(ports.users, await resolveJwtSecret(config, logger), config.jwtTtlS, {
    loginFailsPerUser: config.loginFailsPerUser,
    loginFailsPerAddr: config.loginFailsPerAddr,
    signupsPerAddr: config.signupsPerAddr,
    allowances,
    passwordHashes: config.passwordHashes,
  });
  const hub = new Hub(
    app,
    ports.broker,
    metrics,
    config,
    (err) => logger.warn({ err }, 'broker operation failed'),
    // Called only once traffic flows, after `chat` below exists.
    (ws) => chat.slowConsumer(ws),
  );
  const stall = new StallClock();
  stall.start();
  metrics.watchLoopDelay(stall.delays);
  const protections = new ProtectionLog(logger);
  // The address the per-address limits count (behind a trusted proxy: the client's, from
  // X-Forwarded-For; IPv6 as its /64), else the TCP peer's.
  const warn = (event: string, ws: uWS.WebSocket<Conn>, detail?: Record<string, unknown>) => {
    const c = ws.getUserData();
    protections.warn(event, c, c.addr || addressOf(ws), detail);
  };
  // This process's presence lease (core/presence-lease.ts): the chat's presence calls go through it.
  const lease = new PresenceLease({ store: ports.presence, nodeId: config.nodeId, logger, listMax: config.presenceListMax });
  const chat = new Chat(
    {
      nodeId: config.nodeId,
      presenceOwner: lease.owner,
      logger,
      metrics,
      broker: ports.broker,
      presence: lease.store,
      messages: ports.messages,
      channels: ports.channels,
      users: ports.users,
      allowances,
      newGuests: config.guestsPerAddr > 0 ? { name: 'guest-addr', burst: config.guestsPerAddr, windowMs: 60 * 60_000 } : null,
      sanctions,
      outbox,
      typingTtlMs: config.typingTtlMs,
      commitBatch: config.commitBatch,
      commitLanes: config.commitLanes,
      commitMaxWaitMs: config.commitMaxWaitMs,
      commitLingerGaps: config.commitLingerGaps,
      commitBusyRate: config.commitBusyRate,
      maxChannelsPerUser: config.maxChannelsPerUser,
      maxReactionsPerMessage: config.maxReactionsPerMessage,
      maxJoinsPerConn: config.maxJoinsPerConn,
      presenceListMax: config.presenceListMax,
      limits: {
        ratePerS: config.ratePerS,
        rateBurst: config.rateBurst,
        rateStrikes: config.rateStrikes,
        badFrameStrikes: config.badFrameStrikes,
      },
      budget: new RequestBudget(config.costlyPerNode, config.costlyPerConn),
      stall,
      maxBackpressure: config.maxBackpressure,
      warn,
    },
    hub,
  );
  chat.moderation = new Moderation(chat, ports.channels, ports.users, ports.moderation, { maxChannelsPerUser: config.maxChannelsPerUser });
  let draining = false;
  let closed = false;
  let connCount = 0;
  const perAddr = new ConnsPerAddress(config.maxConnsPerAddr);
  const countAddresses = config.maxConnsPerAddr > 0 || config.guestsPerAddr > 0;

  const ready = async (): Promise<string | null> => {
    if (draining) return 'draining';
    if (!ports.broker.healthy()) return 'broker down';
    try {
      await ports.pingDb();
    } catch {
      return 'database unreachable';
    }
    return null;
  };

  app.get('/healthz', (res) => send(res, { aborted: false }, 200, 'ok\n', 'text/plain'));
  app.get('/readyz', (res) => {
    const st = guard(res);
    void ready().then((why) => {
      metrics.brokerUp.set(ports.broker.healthy() ? 1 : 0);
      send(res, st, why ? 503 : 200, why ? `not ready: ${why}\n` : 'ready\n', 'text/plain');
    });
  });
  app.get('/metrics', (res) => {
    const st = guard(res);
    metrics.brokerUp.set(ports.broker.healthy() ? 1 : 0);
    void metrics.registry.metrics().then((body) => send(res, st, 200, body, metrics.registry.contentType));
  });
  // The web client (apps/web) at `/` with SPA fallback, and the dashboard page at `/admin`.
  mountStatic(app, loadSite(config.webDir || DEFAULT_WEB_DIR), {
    logger,
    fallbackText: `Parley chat gateway ${config.nodeId}. WebSocket: /ws (subprotocol ${SUBPROTOCOL}). See docs/protocol.md.\n`,
  });
  let lastThrottleWarn = 0;
  const authRoute = (what: 'login' | 'signup', fn: (body: Record<string, unknown>, addr: string) => Promise<unknown>, okStatus: number) =>
    ((res: uWS.HttpResponse, req: uWS.HttpRequest) => {
      const st = guard(res);
      const addr = clientAddress(res, req, config.trustProxy); // now: req is valid only in this call
      readJson(res)
        .then((body) => {
          if (typeof body !== 'object' || body === null) throw new HttpError(400, 'expected a JSON object');
          return fn(body as Record<string, unknown>, addr);
        })
        .then((out) => sendJson(res, st, okStatus, out))
        .catch((err) => {
          const status = err instanceof AuthError || err instanceof HttpError ? err.status : 500;
          if (status === 500) logger.error({ err }, 'auth route failed');
          const retryAfterS = err instanceof AuthError ? err.retryAfterS : undefined;
          // Warned at most once a second: a brute force or a sign-up flood must not flood the log.
          if (retryAfterS !== undefined && Date.now() - lastThrottleWarn > 1000) {
            lastThrottleWarn = Date.now();
            logger.warn({ addr, retryAfterS }, `${what} throttled`);
          }
          const body = { error: status === 500 ? 'internal error' : err.message, ...(retryAfterS !== undefined ? { retryAfterS } : {}) };
          send(
            res,
            st,
            status,
            JSON.stringify(body),
            'application/json',
            retryAfterS !== undefined ? { 'retry-after': String(retryAfterS) } : {},
          );
        });
    }) as (res: uWS.HttpResponse, req: uWS.HttpRequest) => void;
  app.post(
    '/auth/signup',
    authRoute(
      'signup',
      async (b, addr) => {
        const { accessToken, user } = await auth.signup(b.username, b.password, addr);
        return { accessToken, user: user.name };
      },
      201,
    ),
  );
  app.post(
    '/auth/login',
    authRoute(
      'login',
      async (b, addr) => {
        const { accessToken, user } = await auth.login(b.username, b.password, addr);
        return { accessToken, user: user.name };
      },
      200,
    ),
  );

  // Everything no route above (or below) takes: a clear answer instead of a dropped connection.
  // `/ws` without an Upgrade header reaches this too (uWS hands only upgrades to the ws route).
  app.any('/*', (res, req) => {
    const url = req.getUrl();
    if (url === '/ws') upgradeRequired(res, SUBPROTOCOL);
    else sendJson(res, { aborted: false }, 404, { error: `no route ${req.getMethod().toUpperCase()} ${url}` });
  });

  mountAdmin(app, {
    token: config.adminToken,
    admin: ports.admin,
    moderation: ports.moderation,
    presence: ports.presence,
    dropEverywhere: (uid) => chat.dropEverywhere(uid),
    deleteChannel: (cid) => chat.moderation.deleteChannel(cid, 'operator'),
    count: (route, status) => metrics.adminRequests.inc({ route, status }),
    logger,
  });

  /** One frame of an authenticated socket (a top-level function: no closure per frame on the hot path). */
  const handleFrame = (ws: uWS.WebSocket<Conn>, size: number, bytes: Uint8Array | null): void => {
    if (size > config.maxPayload) {
      const reason = `message too big: ${size} bytes, max ${config.maxPayload}`;
      outbox.error(ws, { op: Op.None, rid: 0, code: ErrorCode.TooLarge, message: reason });
      warn('frame too large: closing', ws, { size });
      chat.closeFor(ws, 1009, reason);
    } else if (!bytes) {
      // Text frames are answered, and count as malformed like any other frame we cannot read.
      chat.badFrame(ws, { op: Op.None, rid: 0, code: ErrorCode.BadFrame, message: 'binary msgpack frames only' });
    } else chat.onFrame(ws, bytes);
  };

  app.ws<Conn>('/ws', {
    compression: uWS.DISABLED,
    // uWS drops frames above the HARD cap at the socket (1006, nothing buffered beyond it); frames
    // between our limit and the hard cap get a clear error frame and a 1009 close.
    maxPayloadLength: config.hardMaxPayload,
    // uWS's own cap sits above ours. Past it uWS drops sends instead of buffering more; the hub
    // then closes that socket with 4101 right after the flush, so every dropped frame is followed
    // by a close and the SDK's resume from its last seq fetches it again: bounded and lossless.
    maxBackpressure: config.maxBackpressure * 2,
    closeOnBackpressureLimit: 0,
    idleTimeout: config.idleTimeoutS,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const st = guard(res);
      const key = req.getHeader('sec-websocket-key');
      const protocols = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const origin = req.getHeader('origin');
      const token = req.getQuery('token');
      const guestName = req.getQuery('guest');
      const guestToken = req.getQuery('guestToken');
      // Per-address limits (connections on this node, new guests): read it now, while req is valid.
      // Not read when both are off: each read is a short-lived native ArrayBuffer (bench/README.md, "idle").
      const addr = countAddresses ? allowanceKey(clientAddress(res, req, config.trustProxy)) : '';
      const fail = (status: number, message: string) => sendJson(res, st, status, { error: message });
      if (draining) return fail(503, 'server is draining; reconnect to another node');
      const offered = protocols.split(',').map((p) => p.trim());
      if (!offered.includes(SUBPROTOCOL)) {
        const theirs = offered.find((p) => p.startsWith(SUBPROTOCOL_PREFIX));
        return fail(
          426,
          theirs
            ? `unsupported protocol version ${theirs}; this server speaks ${SUBPROTOCOL}`
            : `missing WebSocket subprotocol ${SUBPROTOCOL}`,
        );
      }
      if (config.allowedOrigins.length && origin && !config.allowedOrigins.includes(origin)) {
        return fail(403, `origin ${origin} not allowed`);
      }
      // Upgrade now, inside uWS's own cork, and authenticate in `open`: an upgrade completed
      // later from a promise would need res.cork, and uWS's cork() misreads an upgraded socket's
      // memory and closes ~1 in 400 fresh sockets (uWebSockets issue #1928) — or, uncorked,
      // prints a warning per connection. Auth refusals are a close with 4001 and a reason
      // either way (browsers never see an HTTP status of a refused upgrade).
      const conn: Conn = {
        connId: ++connCount,
        addr,
        pendingAuth: { token, guest: guestName, guestToken },
        authenticated: undefined,
        userId: 0,
        user: '',
        guest: false,
        guestTid: undefined,
        channels: undefined,
        presence: undefined,
        limits: undefined,
        costly: 0,
        sendGate: undefined,
        open: true,
        slowSince: 0,
      };
      res.upgrade(conn, key, SUBPROTOCOL, extensions, context);
    },
    open: (ws) => {
      const c = ws.getUserData();
      const { token, guest, guestToken } = c.pendingAuth ?? { token: '', guest: '', guestToken: '' };
      c.pendingAuth = undefined; // read once: the credentials are not kept on the socket
      if (!perAddr.open(c.addr)) {
        const max = config.maxConnsPerAddr;
        c.addr = ''; // not counted
        c.open = false;
        metrics.closes.inc({ code: CloseCode.TooManyConnections });
        warn('too many connections from one address: refusing', ws, { max });
        ws.end(CloseCode.TooManyConnections, `at most ${max} connections from one address on this server`);
        return;
      }
      const who: Promise<Identity> = token ? auth.account(token) : auth.guest(guest || null, guestToken || null);
      c.authenticated = who.then(
        (id) => {
          if (!c.open) return false; // closed while we checked
          const userId = id.userId || -c.connId; // a guest without a row yet: see Conn.userId
          if (chat.localSockets(userId).length >= config.maxConnsPerUser) {
            c.open = false;
            metrics.closes.inc({ code: CloseCode.TooManyConnections });
            warn('too many connections for one account: refusing', ws, { user: id.user, max: config.maxConnsPerUser });
            ws.end(CloseCode.TooManyConnections, `at most ${config.maxConnsPerUser} connections per account on this server`);
            return false;
          }
          c.userId = userId;
          c.user = id.user;
          c.guest = id.guest;
          c.guestTid = id.guestTid;
          c.authenticated = undefined;
          chat.onOpen(ws, id.guestToken);
          return true;
        },
        (err: unknown) => {
          if (!c.open) return false;
          c.open = false; // nothing more is sent or handled on this socket
          if (err instanceof AuthError) {
            metrics.closes.inc({ code: CloseCode.Unauthorized });
            ws.end(CloseCode.Unauthorized, err.message);
          } else {
            logger.error({ err }, 'authentication failed');
            ws.end(1013, 'temporarily unavailable: try again later');
          }
          return false;
        },
      );
    },
    message: (ws, message, isBinary) => {
      const size = message.byteLength;
      const readable = isBinary && size <= config.maxPayload;
      const c = ws.getUserData();
      if (c.authenticated) {
        // Before authentication completes, frames wait for it, in arrival order. uWS reuses
        // `message` after this callback returns: keep a copy.
        const bytes = readable ? new Uint8Array(message.slice(0)) : null;
        void c.authenticated.then((ok) => {
          if (ok && c.open) handleFrame(ws, size, bytes);
        });
      } else if (c.userId) {
        // Handled now: Chat.onFrame decodes before its first await, so a view of uWS's buffer will do.
        handleFrame(ws, size, readable ? new Uint8Array(message) : null);
      }
    },
    close: (ws) => {
      const c = ws.getUserData();
      perAddr.close(c.addr);
      if (c.userId) chat.onClose(ws);
      else c.open = false; // closed before (or because) authentication finished
    },
  });

  await ensureDefaultChannels(ports.channels, config.defaultChannels, logger);

  // Listen only once control messages reach this node (bounded: without Redis the node still
  // starts, not ready, and the broker restores the subscription when Redis is back).
  const heard = await Promise.race([
    chat.controlReady.then(() => true),
    new Promise<false>((r) => setTimeout(() => r(false), 5000).unref()),
  ]);
  if (!heard) logger.warn('control topic not subscribed yet; starting anyway');
  const listener = listenWithBacklog(app, config.host, config.port, config.listenBacklog);
  const port = listener.port;

  // Presence lease: this node's presence entries live as long as it heartbeats; survivors reap
  // the entries of a node that stopped (kill -9) and broadcast one leave per user.
  await lease.start({
    diff: (cid, joins, leaves) => chat.presenceDiff(cid, joins, leaves),
    state: (cid, page) => {
      // One encoding for every socket (it was one per socket: O(online²) work per channel).
      const frame = encodeEvent({ op: Op.PresenceState, cid, ...boundPresence(page, config.presenceListMax) });
      for (const ws of hub.localMembers(cid)) outbox.raw(ws, frame, 'event');
    },
  });
  let brokerWasUp = ports.broker.healthy();
  const beat = async () => {
    const brokerUp = ports.broker.healthy();
    metrics.brokerUp.set(brokerUp ? 1 : 0);
    // Control messages (sanction changes from other nodes) are at-most-once: after an outage,
    // re-read sanctions from the record instead of trusting what we cached before it.
    if (brokerUp && !brokerWasUp) sanctions.clear();
    brokerWasUp = brokerUp;
  };
  await beat();
  const beatTimer = setInterval(() => beat().catch((err) => logger.warn({ err }, 'broker check failed')), LEASE_TTL_MS / 3);
  const reapGuests = async () => {
    // Connected guests are seen now: one statement for all of them.
    await ports.users.touch(
      chat.allSockets().flatMap((ws) => (ws.getUserData().guest && ws.getUserData().userId > 0 ? [ws.getUserData().userId] : [])),
    );
    const n = await ports.users.reapGuests(config.guestTtlS * 1000);
    if (n) logger.info({ n }, 'removed idle guest accounts');
  };
  const guestTimer = setInterval(() => reapGuests().catch((err) => logger.warn({ err }, 'guest reaping failed')), 10 * 60_000);
  // The node's send budget (core/send-budget.ts): a few times a second, what every socket buffers,
  // those closing for not reading (4101) included — their close frame waits behind that data, and
  // uWS keeps it until the close handshake times out. Past the budget the largest go: a closing
  // one is cut, an open one closed (4101). A closing one is cut anyway once the grace is over.
  const sweepSendBuffers = () => {
    const now = performance.now();
    const held: uWS.WebSocket<Conn>[] = [];
    for (const ws of chat.allSockets()) {
      const c = ws.getUserData();
      if (c.open) held.push(ws);
      else if (c.slowSince) {
        if (now - c.slowSince > SLOW_CLOSE_GRACE_MS) ws.close();
        else held.push(ws);
      }
    }
    for (const ws of overBudget(held, (w) => w.getBufferedAmount(), config.nodeMaxBackpressure)) {
      if (ws.getUserData().open) chat.slowConsumer(ws, true);
      else ws.close();
    }
  };
  const sendBudgetTimer = setInterval(sweepSendBuffers, SEND_BUDGET_SWEEP_MS);
  beatTimer.unref();
  guestTimer.unref();
  sendBudgetTimer.unref();
  // the logger already names the node
  logger.info({ port, native, listenSockets: listener.sockets, backlog: listener.sockets * UWS_LISTEN_BACKLOG }, 'gateway listening');

  const stopListening = () => listener.close();
  const stop = async () => {
    if (closed) return;
    closed = true;
    clearInterval(beatTimer);
    lease.stop();
    clearInterval(guestTimer);
    clearInterval(sendBudgetTimer);
    stall.stop();
    stopListening();
    outbox.flush();
    for (const ws of chat.allSockets()) ws.end(CloseCode.GoingAway, 'server stopping');
    await chat.committer.flush();
    await ports.close();
  };

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    nodeId: config.nodeId,
    chat,
    close: stop,
    async drain() {
      draining = true;
      stopListening();
      const sockets = chat.allSockets();
      for (const ws of sockets) {
        outbox.event(ws, { op: Op.Reconnect, delayMs: Math.floor(Math.random() * config.drainSpreadMs) });
      }
      outbox.flush();
      hub.flush();
      await chat.committer.flush();
      // Give clients the spread to leave by themselves; then close the rest.
      await new Promise((r) => setTimeout(r, Math.min(config.drainSpreadMs + 500, 10_000)));
      await stop();
    },
  };
}

/** The peer's address, for warnings (read when needed: nothing is kept per connection). */
function addressOf(ws: uWS.WebSocket<Conn>): string {
  try {
    return canonicalAddress(Buffer.from(ws.getRemoteAddressAsText()).toString());
  } catch {
    return '?';
  }
}
