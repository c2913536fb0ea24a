import { decode, encode } from '@msgpack/msgpack';
import { loadedUws, noNativeUwsMessage } from '@parley/gateway/uws';
import { Redis } from 'ioredis';
import postgres from 'postgres';

/**
 * The bare reference points for the fanout scenario: uWebSockets.js + ioredis, nothing else.
 *   relay mode:  each node SUBSCRIBEs per room on Redis (first local member) and republishes what
 *                arrives into the uWS topic, bytes unchanged; a publish goes to Redis only (every
 *                node, this one included, receives it back from Redis).
 *   single mode: no Redis; a publish goes straight into the uWS topic.
 *   relay-pg:    relay mode that persists first, the least a uWS user who wants history would
 *                write: one postgres.js INSERT (its own transaction) per message into
 *                `messages (id bigserial, room, body bytea, created_at)` on DATABASE_URL (the
 *                bench creates the table), then the publish. postgres.js's default pool (10
 *                connections), as the Socket.IO + INSERT peer.
 * Wire (binary, msgpack): client → ['j', room] (answered ['ok', room] once subscribed) |
 * ['p', room, body]; server → [room, body], encoded once at the origin.
 * Usage: node --import tsx uws-relay.ts <relay|relay-pg|single> <port|0> <channel-prefix>
 */
const mode = process.argv[2] === 'single' ? 'single' : process.argv[2] === 'relay-pg' ? 'relay-pg' : 'relay';
const port = Number(process.argv[3] ?? 0);
const prefix = process.argv[4] ?? 'uws-relay:';

// The gateway's loader: the same build the gateways under test run, and the same refusal of the JS fallback.
const { uWS, info, skipped } = loadedUws();
if (!info.native) {
  console.error(`uWebSockets.js is on its JS fallback: refusing to benchmark it\n${noNativeUwsMessage(skipped)}`);
  process.exit(1);
}

const app = uWS.App();
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const pub = mode !== 'single' ? new Redis(redisUrl) : null;
const sub = mode !== 'single' ? new Redis(redisUrl) : null;
const sql = mode === 'relay-pg' ? postgres(process.env.DATABASE_URL ?? '', { onnotice: () => {} }) : null;
const members = new Map<string, number>();
const subscribed = new Map<string, Promise<unknown>>();

sub?.on('messageBuffer', (channel: Buffer, message: Buffer) => {
  app.publish(channel.toString().slice(prefix.length), message, true);
});

interface Data {
  rooms: string[];
}

app.ws<Data>('/*', {
  maxPayloadLength: 64 * 1024,
  maxBackpressure: 64 * 1024 * 1024,
  idleTimeout: 0,
  upgrade: (res, req, ctx) => {
    res.upgrade<Data>(
      { rooms: [] },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      ctx,
    );
  },
  message: (ws, msg) => {
    const m = decode(new Uint8Array(msg)) as [string, string, Uint8Array?];
    const room = m[1];
    if (m[0] === 'p') {
      const out = encode([room, m[2]]);
      const bytes = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
      if (sql) {
        // A copy: the decoded body is a view into uWS's buffer, valid during this callback only.
        const body = Buffer.from(m[2] ?? new Uint8Array(0));
        sql`insert into messages (room, body) values (${room}, ${body})`.then(
          () => void pub?.publish(prefix + room, bytes),
          (err: unknown) => console.error(`insert failed: ${err instanceof Error ? err.message : err}`), // not persisted: not delivered either
        );
      } else if (pub) void pub.publish(prefix + room, bytes);
      else app.publish(room, out, true);
      return;
    }
    if (m[0] === 'j') {
      ws.subscribe(room);
      ws.getUserData().rooms.push(room);
      members.set(room, (members.get(room) ?? 0) + 1);
      let ready = subscribed.get(room);
      if (!ready) subscribed.set(room, (ready = sub ? sub.subscribe(prefix + room) : Promise.resolve()));
      void ready.then(() => {
        try {
          ws.send(encode(['ok', room]), true);
        } catch {
          // closed meanwhile
        }
      });
    }
  },
  close: (ws) => {
    for (const room of ws.getUserData().rooms) {
      const n = (members.get(room) ?? 1) - 1;
      if (n > 0) members.set(room, n);
      else {
        members.delete(room);
        subscribed.delete(room);
        void sub?.unsubscribe(prefix + room);
      }
    }
  },
});

app.listen('127.0.0.1', port, (ls) => {
  if (!ls) {
    console.error(`uws-relay: cannot listen on ${port}`);
    process.exit(1);
  }
  console.log(JSON.stringify({ ready: true, port: uWS.us_socket_local_port(ls), mode, uws: info }));
});

const stop = () => {
  pub?.disconnect();
  sub?.disconnect();
  void Promise.resolve(sql?.end({ timeout: 1 })).finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
