import { decode, encode } from '@msgpack/msgpack';
import { encodeRequest, Kind, Op } from '@parley/protocol';
import { io as ioClient, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { postgresBackendPids } from './cpu.js';
import { withDatabase } from './database.js';
import { LeanSocketIo } from './lean-socketio.js';
import { startPeer } from './peers/spawn.js';
import { benchPrefix } from './redis-prefix.js';
import { startGateway } from './server.js';
import { signup } from './signup.js';
import { WireClient } from './wire-client.js';

/** Every system the fanout scenario knows, in report order. */
export const SYSTEMS = ['parley', 'socketio-lean', 'socketio-client', 'uws-relay', 'uws-single'] as const;
export type SystemName = (typeof SYSTEMS)[number];

export interface Topology {
  rooms: number;
  receiversPerRoom: number;
  publishersPerRoom: number;
  redisUrl: string;
}

/** Called by receivers for every delivery: the step id and send time (performance.now()) it carries. */
export type Sink = (step: number, sentAt: number) => void;

/** A running system: its server processes, and a publish that never waits for anything. */
export interface Handle {
  serverPids: number[];
  /** Postgres backends serving this system (Parley's history); empty for systems that persist nothing. */
  postgresPids(): number[];
  /** Publisher `p` (0 … rooms × publishersPerRoom − 1) sends one 60-byte body into its room. */
  publish(p: number, step: number, sentAt: number): void;
  /** Errors the servers answered publishers with (Parley: error frames, e.g. rate limits). */
  errors(): number;
}

export const BODY_BYTES = 60;

/** The text body (Parley, Socket.IO): "step:sentAt:" padded with x to 60 characters. */
export function textBody(step: number, sentAt: number): string {
  return `${step}:${sentAt.toFixed(3)}:`.padEnd(BODY_BYTES, 'x');
}
function readTextBody(text: string, sink: Sink): void {
  const a = text.indexOf(':');
  const b = text.indexOf(':', a + 1);
  if (a > 0 && b > a) sink(Number(text.slice(0, a)), Number(text.slice(a + 1, b)));
}

/** The binary body (uWS peers): float64 sentAt, uint32 step, zero padding to 60 bytes. */
function binaryBody(step: number, sentAt: number): Uint8Array {
  const b = new Uint8Array(BODY_BYTES);
  const v = new DataView(b.buffer);
  v.setFloat64(0, sentAt, true);
  v.setUint32(8, step, true);
  return b;
}

const debug = (s: string) => {
  if (process.env.BENCH_DEBUG) process.stderr.write(`[fanout debug] ${s}\n`);
};

const roomName = (r: number) => `room-${r}`;
/** Receivers alternate between the two nodes; the publishers of a room too. */
const nodeOf = (i: number, nodes: number) => i % nodes;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inChunks<T>(n: number, chunk: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += chunk) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(chunk, n - i) }, (_, k) => make(i + k)))));
  }
  return out;
}

export async function runSystem<T>(name: SystemName, topo: Topology, sink: Sink, fn: (h: Handle) => Promise<T>): Promise<T> {
  switch (name) {
    case 'parley':
      return withParley(topo, sink, fn);
    case 'socketio-lean':
      return withSocketIo(topo, sink, fn, 'lean');
    case 'socketio-client':
      return withSocketIo(topo, sink, fn, 'client');
    case 'uws-relay':
      return withUws(topo, sink, fn, 'relay');
    case 'uws-single':
      return withUws(topo, sink, fn, 'single');
  }
}

// ---------------------------------------------------------------- Parley

async function withParley<T>(topo: Topology, sink: Sink, fn: (h: Handle) => Promise<T>): Promise<T> {
  const { prefix, cleanup } = benchPrefix(topo.redisUrl);
  try {
    return await withDatabase(async (databaseUrl, database) => {
      const env = {
        DATABASE_URL: databaseUrl,
        REDIS_URL: topo.redisUrl,
        PARLEY_REDIS_PREFIX: prefix,
        PARLEY_RATE_PER_S: '1000000',
        PARLEY_RATE_BURST: '1000000',
        // A bench receiver that falls behind must be measured, not disconnected (Socket.IO has no such limit).
        PARLEY_MAX_BACKPRESSURE: String(64 * 1024 * 1024),
        PARLEY_SHED_BYTES: String(1024 * 1024),
      };
      const nodes = await Promise.all([
        startGateway({ ...env, PARLEY_NODE_ID: 'fanout-a' }),
        startGateway({ ...env, PARLEY_NODE_ID: 'fanout-b' }),
      ]);
      const clients: WireClient[] = [];
      try {
        debug(`parley gateways up: ${nodes.map((n) => n.url).join(' ')}`);
        const accessToken = await signup(nodes[0]?.url ?? '', 'fanout-owner');
        const owner = new WireClient(nodes[0]?.url ?? '', `token=${accessToken}`);
        await owner.opened;
        for (let r = 0; r < topo.rooms; r++) await owner.request((rid) => encodeRequest({ op: Op.Create, rid, name: roomName(r) }));
        debug('parley rooms created');
        owner.close(); // not a member that receives: only guests below do

        let dropped = 0;
        const connectOnce = async (guest: string, node: number, room: number) => {
          const c = new WireClient(nodes[node]?.url ?? '', `guest=${guest}`);
          clients.push(c);
          const closed = new Promise<never>((_, reject) =>
            c.ws.once('close', (code, reason) => reject(new Error(`${guest} closed ${code} ${reason.toString()}`))),
          );
          closed.catch(() => {});
          await Promise.race([c.opened, closed]);
          const join = await Promise.race([
            c.request((rid) => encodeRequest({ op: Op.Join, rid, name: roomName(room) })),
            closed,
            sleep(10_000).then(() => Promise.reject(new Error(`${guest}: no Join reply in 10 s`))),
          ]);
          return { c, cid: (join as { cid: number }).cid };
        };
        // A connection dropped right after its upgrade (1006, no close frame) was a uWS bug with
        // async upgrades inside res.cork, fixed in the gateway (it upgrades synchronously now); should it ever
        // come back, retry (and count) it rather than hang the run.
        const connect = async (guest: string, node: number, room: number) => {
          for (let attempt = 1; ; attempt++) {
            try {
              return await connectOnce(guest, node, room);
            } catch (e) {
              dropped += 1;
              debug(`parley connect ${guest} failed (attempt ${attempt}): ${e instanceof Error ? e.message : e}`);
              if (attempt >= 3) throw e;
            }
          }
        };
        const nRecv = topo.rooms * topo.receiversPerRoom;
        await inChunks(nRecv, 50, async (i) => {
          const { c } = await connect(`r${i}`, nodeOf(i, 2), i % topo.rooms);
          c.onFrame = (f) => {
            if (f.kind === Kind.Event && f.op === Op.Message) readTextBody(f.text, sink);
          };
        });
        debug(`parley receivers joined (${dropped} connections dropped during setup and retried)`);
        if (dropped) process.stderr.write(`[fanout] parley: ${dropped} connection(s) dropped during setup, retried\n`);
        let errors = 0;
        const pubs = await inChunks(topo.rooms * topo.publishersPerRoom, 50, async (p) => {
          const pub = await connect(`p${p}`, nodeOf(Math.floor(p / topo.rooms), 2), p % topo.rooms);
          pub.c.onFrame = (f) => {
            if (f.kind === Kind.Error) errors += 1;
          };
          return pub;
        });
        let rid = 1;
        return await fn({
          serverPids: nodes.map((n) => n.proc.pid ?? 0),
          postgresPids: () => postgresBackendPids(database),
          errors: () => errors,
          publish(p, step, sentAt) {
            const pub = pubs[p];
            if (!pub) return;
            rid = rid >= 0xfffffff0 ? 1 : rid + 1;
            // Pipelined: the ack (sent after the Postgres commit) is never awaited.
            pub.c.send(encodeRequest({ op: Op.Message, rid, cid: pub.cid, text: textBody(step, sentAt), cmid: null }));
          },
        });
      } finally {
        for (const c of clients) c.close();
        await Promise.all(nodes.map((n) => n.stop()));
      }
    });
  } finally {
    await cleanup();
  }
}

// ---------------------------------------------------------------- Socket.IO

interface SioConn {
  emit(...args: unknown[]): void;
  close(): void;
}

async function withSocketIo<T>(topo: Topology, sink: Sink, fn: (h: Handle) => Promise<T>, client: 'lean' | 'client'): Promise<T> {
  const key = `parley_bench_sio_${process.pid}_${Date.now().toString(36)}`;
  const nodes = await Promise.all([0, 1].map(() => startPeer('socketio-server.ts', ['0', key], { REDIS_URL: topo.redisUrl })));
  const conns: SioConn[] = [];
  try {
    const connect = async (node: number, room: number, receiver: boolean): Promise<SioConn> => {
      const url = nodes[node]?.url ?? '';
      if (client === 'lean') {
        const c = new LeanSocketIo(url);
        conns.push(c);
        await c.connected;
        if (receiver) c.onEvent = (a) => readTextBody(a[2] as string, sink);
        await c.emitWithAck('join', roomName(room));
        return c;
      }
      const s: Socket = ioClient(url, { transports: ['websocket'], forceNew: true, reconnection: false });
      const conn = { emit: (...a: unknown[]) => void s.emit(...(a as [string, ...unknown[]])), close: () => void s.disconnect() };
      conns.push(conn);
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
      if (receiver) s.on('m', (_room: string, body: string) => readTextBody(body, sink));
      await s.emitWithAck('join', roomName(room));
      return conn;
    };
    await inChunks(topo.rooms * topo.receiversPerRoom, 50, (i) => connect(nodeOf(i, 2), i % topo.rooms, true));
    const pubs = await inChunks(topo.rooms * topo.publishersPerRoom, 50, (p) =>
      connect(nodeOf(Math.floor(p / topo.rooms), 2), p % topo.rooms, false).then((c) => ({ c, room: roomName(p % topo.rooms) })),
    );
    return await fn({
      serverPids: nodes.map((n) => n.pid),
      postgresPids: () => [],
      errors: () => 0,
      publish(p, step, sentAt) {
        const pub = pubs[p];
        pub?.c.emit('pub', pub.room, textBody(step, sentAt));
      },
    });
  } finally {
    for (const c of conns) c.close();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

// ---------------------------------------------------------------- bare uWS

async function withUws<T>(topo: Topology, sink: Sink, fn: (h: Handle) => Promise<T>, mode: 'relay' | 'single'): Promise<T> {
  const prefix = `parley_bench_uws_${process.pid}_${Date.now().toString(36)}:`;
  const count = mode === 'relay' ? 2 : 1;
  const nodes = await Promise.all(
    Array.from({ length: count }, () => startPeer('uws-relay.ts', [mode, '0', prefix], { REDIS_URL: topo.redisUrl })),
  );
  const sockets: WebSocket[] = [];
  try {
    const connect = async (node: number, room: number, receiver: boolean) => {
      const ws = new WebSocket((nodes[node]?.url ?? '').replace(/^http/, 'ws'), { perMessageDeflate: false });
      ws.binaryType = 'nodebuffer';
      sockets.push(ws);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      await new Promise<void>((resolve) => {
        ws.on('message', (data: Buffer) => {
          const m = decode(data) as [string, Uint8Array | string];
          const body = m[1];
          if (typeof body === 'string') return resolve(); // ['ok', room]
          if (!receiver) return;
          const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
          sink(v.getUint32(8, true), v.getFloat64(0, true));
        });
        ws.send(encode(['j', roomName(room)]));
      });
      return ws;
    };
    await inChunks(topo.rooms * topo.receiversPerRoom, 50, (i) => connect(nodeOf(i, count), i % topo.rooms, true));
    const pubs = await inChunks(topo.rooms * topo.publishersPerRoom, 50, (p) =>
      connect(nodeOf(Math.floor(p / topo.rooms), count), p % topo.rooms, false).then((ws) => ({ ws, room: roomName(p % topo.rooms) })),
    );
    return await fn({
      serverPids: nodes.map((n) => n.pid),
      postgresPids: () => [],
      errors: () => 0,
      publish(p, step, sentAt) {
        const pub = pubs[p];
        pub?.ws.send(encode(['p', pub.room, binaryBody(step, sentAt)]));
      },
    });
  } finally {
    for (const ws of sockets) ws.terminate();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}
