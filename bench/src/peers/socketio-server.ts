import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { Server } from 'socket.io';

/**
 * Socket.IO 4.8 peer for the fanout scenario: websocket transport only, @socket.io/redis-adapter
 * on REDIS_URL (channel prefix = argv[3], so concurrent runs never cross), rooms.
 *   join(room, ack)          socket.join(room), then ack()
 *   pub(room, body)          io.to(room).emit('m', room, body)
 * With `pg` as the third argument it persists like a Socket.IO user who wants history would:
 * `await insert(msg); io.to(room).emit(...)` — one postgres.js INSERT (its own transaction) per
 * message into `messages (id bigserial, room, body, created_at)` on DATABASE_URL (the bench
 * creates the table), before the emit. postgres.js's default pool (10 connections).
 * Usage: node --import tsx socketio-server.ts <port|0> <key-prefix> [pg]   → prints {"ready":true,"port":N}
 */
const port = Number(process.argv[2] ?? 0);
const key = process.argv[3] ?? 'socket.io';
const sql = process.argv[4] === 'pg' ? postgres(process.env.DATABASE_URL ?? '', { onnotice: () => {} }) : null;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const pub = new Redis(redisUrl);
const sub = pub.duplicate();
const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
  adapter: createAdapter(pub, sub, { key }),
});

io.on('connection', (socket) => {
  socket.on('join', (room: string, ack?: () => void) => {
    void Promise.resolve(socket.join(room)).then(() => ack?.());
  });
  socket.on(
    'pub',
    sql
      ? async (room: string, body: string) => {
          try {
            await sql`insert into messages (room, body) values (${room}, ${body})`;
          } catch (err) {
            console.error(`insert failed: ${err instanceof Error ? err.message : err}`);
            return; // not persisted: not delivered either
          }
          io.to(room).emit('m', room, body);
        }
      : (room: string, body: string) => {
          io.to(room).emit('m', room, body);
        },
  );
});

http.listen(port, '127.0.0.1', () => {
  const addr = http.address();
  console.log(JSON.stringify({ ready: true, port: typeof addr === 'object' && addr ? addr.port : port }));
});

const stop = () => {
  io.close();
  pub.disconnect();
  sub.disconnect();
  void Promise.resolve(sql?.end({ timeout: 1 })).finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
