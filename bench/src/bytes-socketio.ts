import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { type Captures, CONTENT, type EventName, type Stamp, sleep } from './bytes-events.js';
import { LeanSocketIo } from './lean-socketio.js';
import { WireTap } from './wire-tap.js';

/**
 * A Socket.IO 4.8 chat server written the idiomatic way (in this process: the bytes a receiver
 * gets do not depend on where the server runs or on the adapter). Every event carries the same
 * information as Parley's frame for it; names are the channel's name, not a numeric id.
 *   join(channel, ack)                → socket.to(channel).emit('presence', {channel, joins: [{user, guest}], leaves: []})
 *   message({channel, text}, ack)     → io.to(channel).emit('message', {channel, user, text, ts, seq})
 *   typing(channel)                   → socket.to(channel).emit('typing', {channel, user})
 *   reaction({channel, seq, emoji})   → io.to(channel).emit('reaction', {channel, seq, emoji, user, on: true})
 *   disconnecting                     → socket.to(channel).emit('presence', {channel, joins: [], leaves: [user]})
 * `stamp` stands in for the message store: the seq and ts Parley assigned.
 */
async function startChatServer(stamp: Stamp): Promise<{ url: string; close(): Promise<void> }> {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
  io.on('connection', (socket) => {
    const user = String(socket.handshake.query.user);
    const guest = socket.handshake.query.guest === '1';
    socket.on('join', (channel: string, ack: () => void) => {
      void socket.join(channel);
      socket.to(channel).emit('presence', { channel, joins: [{ user, guest }], leaves: [] });
      ack();
    });
    socket.on('message', ({ channel, text }: { channel: string; text: string }) => {
      io.to(channel).emit('message', { channel, user, text, ts: stamp.ts, seq: stamp.seq });
    });
    socket.on('typing', (channel: string) => {
      socket.to(channel).emit('typing', { channel, user });
    });
    socket.on('reaction', ({ channel, seq, emoji }: { channel: string; seq: number; emoji: string }) => {
      io.to(channel).emit('reaction', { channel, seq, emoji, user, on: true });
    });
    socket.on('disconnecting', () => {
      for (const channel of socket.rooms)
        if (channel !== socket.id) socket.to(channel).emit('presence', { channel, joins: [], leaves: [user] });
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: () => new Promise((r) => io.close(() => r())),
  };
}

/** Engine.IO text packets a receiver gets for a Socket.IO event: `42["<event>",{…}]`. */
const eventNamed = (event: string, test: (body: Record<string, unknown[]>) => boolean = () => true) => {
  const prefix = `42["${event}",`;
  return (data: Buffer) => {
    const s = data.toString();
    return s.startsWith(prefix) && test((JSON.parse(s.slice(2)) as [string, Record<string, unknown[]>])[1]);
  };
};

export async function captureSocketIo(stamp: Stamp): Promise<Captures> {
  const server = await startChatServer(stamp);
  const clients: LeanSocketIo[] = [];
  const connect = async (user: string, guest: boolean) => {
    const c = new LeanSocketIo(server.url, `user=${user}&guest=${guest ? 1 : 0}`);
    const tap = new WireTap(c.ws);
    clients.push(c);
    await c.connected;
    await c.emitWithAck('join', CONTENT.channel);
    return { c, tap };
  };
  try {
    const { c: alice } = await connect(CONTENT.sender, false);
    const { tap } = await connect(CONTENT.receiver, true);
    await sleep(100);
    const captures: Partial<Captures> = {};
    const capture = async (name: EventName, match: (data: Buffer) => boolean, action: () => void | Promise<void>) => {
      captures[name] = await tap.next(match, action);
      await sleep(100);
    };
    await capture('chat message', eventNamed('message'), () => alice.emit('message', { channel: CONTENT.channel, text: CONTENT.text }));
    await capture('typing', eventNamed('typing'), () => alice.emit('typing', CONTENT.channel));
    await capture('reaction', eventNamed('reaction'), () =>
      alice.emit('reaction', { channel: CONTENT.channel, seq: stamp.seq, emoji: CONTENT.emoji }),
    );
    let carol: LeanSocketIo | undefined;
    await capture(
      'presence join',
      eventNamed('presence', (b) => (b.joins?.length ?? 0) > 0),
      async () => {
        carol = (await connect(CONTENT.joiner, true)).c;
      },
    );
    await capture(
      'presence leave',
      eventNamed('presence', (b) => (b.leaves?.length ?? 0) > 0),
      () => carol?.ws.close(),
    );
    return captures as Captures;
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
}
