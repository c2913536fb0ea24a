import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

/**
 * Socket.IO 4.8 peer for the fanout scenario: websocket transport only, @socket.io/redis-adapter
 * on REDIS_URL (channel prefix = argv[3], so concurrent runs never cross), rooms.
 *   join(room, ack)          socket.join(room), then ack()
 *   pub(room, body)          io.to(room).emit('m', room, body)
 * Usage: node --import tsx socketio-server.ts <port|0> <key-prefix>   → prints {"ready":true,"port":N}
 */
const port = Number(process.argv[2] ?? 0);
const key = process.argv[3] ?? 'socket.io';
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
  socket.on('pub', (room: string, body: string) => {
    io.to(room).emit('m', room, body);
  });
});

http.listen(port, '127.0.0.1', () => {
  const addr = http.address();
  console.log(JSON.stringify({ ready: true, port: typeof addr === 'object' && addr ? addr.port : port }));
});

const stop = () => {
  io.close();
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
