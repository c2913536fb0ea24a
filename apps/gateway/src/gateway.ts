import { CloseCode, ErrorCode, Op, SUBPROTOCOL, SUBPROTOCOL_PREFIX } from '@parley/protocol';
import type { Config } from './config.js';
import { Chat } from './core/chat.js';
import type { Conn } from './core/conn.js';
import { Hub } from './core/hub.js';
import { Moderation } from './core/moderation.js';
import { Outbox } from './core/outbox.js';
import { SanctionCache } from './core/sanctions.js';
import { AuthError, AuthService, type Identity } from './http/auth.js';
import { guard, HttpError, readJson, send, sendJson } from './http/http-util.js';
import type { Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import type { Broker } from './ports/broker.js';
import type { ChannelStore } from './ports/channel-store.js';
import type { MessageStore } from './ports/message-store.js';
import type { ModerationStore } from './ports/moderation-store.js';
import type { PresenceStore } from './ports/presence-store.js';
import type { UserStore } from './ports/user-store.js';
import { requireNativeUws, uWS } from './uws.js';

export interface Ports {
  broker: Broker;
  presence: PresenceStore;
  messages: MessageStore;
  channels: ChannelStore;
  users: UserStore;
  moderation: ModerationStore;
  /** Resolves when the database answers (readiness). */
  pingDb(): Promise<void>;
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

const LEASE_TTL_MS = 10_000;

export async function startGateway(config: Config, ports: Ports, logger: Logger): Promise<Gateway> {
  const native = requireNativeUws(logger, config.allowUwsFallback);
  const metrics = createMetrics(config.nodeId, native);
  const app = uWS.App();
  const outbox = new Outbox(metrics);
  const sanctions = new SanctionCache(ports.moderation);
  const auth = new AuthService(ports.users, config.jwtSecret, config.jwtTtlS);
  const hub = new Hub(app, ports.broker, metrics, config, (err) => logger.warn({ err }, 'broker operation failed'));
  const chat = new Chat(
    {
      nodeId: config.nodeId,
      logger,
      metrics,
      broker: ports.broker,
      presence: ports.presence,
      messages: ports.messages,
      channels: ports.channels,
      users: ports.users,
      sanctions,
      outbox,
      typingTtlMs: config.typingTtlMs,
      commitBatch: config.commitBatch,
      limits: {
        ratePerS: config.ratePerS,
        rateBurst: config.rateBurst,
        rateStrikes: config.rateStrikes,
        badFrameStrikes: config.badFrameStrikes,
      },
    },
    hub,
  );
  chat.moderation = new Moderation(chat, ports.channels, ports.users, ports.moderation);
  let draining = false;
  let closed = false;
  let connCount = 0;

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
  app.get('/', (res) =>
    send(
      res,
      { aborted: false },
      200,
      `Parley chat gateway ${config.nodeId}. WebSocket: /ws (subprotocol ${SUBPROTOCOL}). See docs/protocol.md.\n`,
      'text/plain',
    ),
  );
  const authRoute = (fn: (body: Record<string, unknown>) => Promise<unknown>, okStatus: number) =>
    ((res: uWS.HttpResponse) => {
      const st = guard(res);
      readJson(res)
        .then((body) => {
          if (typeof body !== 'object' || body === null) throw new HttpError(400, 'expected a JSON object');
          return fn(body as Record<string, unknown>);
        })
        .then((out) => sendJson(res, st, okStatus, out))
        .catch((err) => {
          const status = err instanceof AuthError || err instanceof HttpError ? err.status : 500;
          if (status === 500) logger.error({ err }, 'auth route failed');
          sendJson(res, st, status, { error: status === 500 ? 'internal error' : err.message });
        });
    }) as (res: uWS.HttpResponse) => void;
  app.post(
    '/auth/signup',
    authRoute(async (b) => {
      const { accessToken, user } = await auth.signup(b.username, b.password);
      return { accessToken, user: user.name };
    }, 201),
  );
  app.post(
    '/auth/login',
    authRoute(async (b) => {
      const { accessToken, user } = await auth.login(b.username, b.password);
      return { accessToken, user: user.name };
    }, 200),
  );

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
      const who: Promise<Identity> = token ? auth.verifyToken(token) : auth.guest(guestName || null);
      who
        .then((id) => {
          if (st.aborted) return;
          const conn: Conn = {
            connId: ++connCount,
            userId: id.userId,
            user: id.user,
            guest: id.guest,
            channels: undefined,
            limits: undefined,
            open: true,
          };
          upgradeUncorked(res, conn, key, extensions, context);
        })
        .catch((err) => {
          if (!(err instanceof AuthError)) {
            logger.error({ err }, 'upgrade failed');
            return fail(503, 'temporarily unavailable');
          }
          // Browsers never see an HTTP status of a refused upgrade (only a 1006 close), so auth
          // refusals are a completed upgrade closed at once with a documented code and reason.
          if (st.aborted) return;
          const rejected = { rejected: { code: CloseCode.Unauthorized, reason: err.message } } as unknown as Conn;
          upgradeUncorked(res, rejected, key, extensions, context);
        });
    },
    open: (ws) => {
      const refused = (ws.getUserData() as Conn & { rejected?: { code: number; reason: string } }).rejected;
      if (!refused) return chat.onOpen(ws);
      metrics.closes.inc({ code: refused.code });
      ws.end(refused.code, refused.reason);
    },
    message: (ws, message, isBinary) => {
      if (message.byteLength > config.maxPayload) {
        const reason = `message too big: ${message.byteLength} bytes, max ${config.maxPayload}`;
        outbox.error(ws, { op: Op.None, rid: 0, code: ErrorCode.TooLarge, message: reason });
        chat.closeFor(ws, 1009, reason);
        return;
      }
      if (!isBinary) {
        outbox.error(ws, { op: Op.None, rid: 0, code: ErrorCode.BadFrame, message: 'binary msgpack frames only' });
        return;
      }
      // uWS reuses the buffer after this callback returns: copy before any await.
      void chat.onFrame(ws, new Uint8Array(message.slice(0)));
    },
    close: (ws) => {
      if (!(ws.getUserData() as Conn & { rejected?: unknown }).rejected) chat.onClose(ws);
    },
  });

  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(config.host, config.port, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${config.host}:${config.port}`))));
  });
  const port = uWS.us_socket_local_port(listenSocket);

  // Presence lease: this node's presence entries live as long as it heartbeats; survivors reap
  // the entries of a node that stopped (kill -9) and broadcast one leave per user.
  let brokerWasUp = ports.broker.healthy();
  const beat = async () => {
    const brokerUp = ports.broker.healthy();
    metrics.brokerUp.set(brokerUp ? 1 : 0);
    // Control messages (sanction changes from other nodes) are at-most-once: after an outage,
    // re-read sanctions from the record instead of trusting what we cached before it.
    if (brokerUp && !brokerWasUp) sanctions.clear();
    brokerWasUp = brokerUp;
    await ports.presence.heartbeat(config.nodeId, LEASE_TTL_MS);
    for (const dead of await ports.presence.deadNodes()) {
      if (dead === config.nodeId) continue;
      const leaves = await ports.presence.reapNode(dead);
      if (leaves.length) logger.warn({ dead, leaves: leaves.length }, 'reaped presence of a dead node');
      for (const l of leaves) chat.presenceDiff(l.cid, [], [l.user]);
    }
  };
  await beat();
  const beatTimer = setInterval(() => beat().catch((err) => logger.warn({ err }, 'presence heartbeat failed')), LEASE_TTL_MS / 3);
  const reapGuests = async () => {
    for (const ws of chat.allSockets()) if (ws.getUserData().guest) await ports.users.touch(ws.getUserData().userId);
    const n = await ports.users.reapGuests(config.guestTtlS * 1000);
    if (n) logger.info({ n }, 'removed idle guest accounts');
  };
  const guestTimer = setInterval(() => reapGuests().catch((err) => logger.warn({ err }, 'guest reaping failed')), 10 * 60_000);
  beatTimer.unref();
  guestTimer.unref();
  logger.info({ port, native, node: config.nodeId }, 'gateway listening');

  let listening = true;
  const stopListening = () => {
    if (listening) uWS.us_listen_socket_close(listenSocket);
    listening = false;
  };
  const stop = async () => {
    if (closed) return;
    closed = true;
    clearInterval(beatTimer);
    clearInterval(guestTimer);
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

/**
 * Completes a WebSocket upgrade from a promise continuation WITHOUT `res.cork`. uWS's cork()
 * re-reads the HTTP response state after its callback, but an upgrade has by then turned that
 * memory into the WebSocket's user data; when a stray bit there reads as "Connection: close",
 * uWS closes the brand-new socket (the client sees 1006 right after the 101). That was ~1 in 400
 * connections in a burst (uWebSockets issue #1928; fixed upstream in uWebSockets PR #1929, not in
 * the build we can use). Uncorked, the 101 is one write of its own; uWS prints a one-time
 * "writes must be made from within a corked callback" warning the first time, which is expected.
 */
function upgradeUncorked(res: uWS.HttpResponse, userData: Conn, key: string, extensions: string, context: uWS.us_socket_context_t): void {
  res.upgrade(userData, key, SUBPROTOCOL, extensions, context);
}
