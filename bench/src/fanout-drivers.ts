import { join, resolve } from 'node:path';
import { decode, encode } from '@msgpack/msgpack';
import { encodeRequest, Kind, Op } from '@parley/protocol';
import postgres from 'postgres';
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
/**
 * `parley-b`: Parley again, from the checkout at BENCH_PARLEY_B_DIR (its own `npm ci` done): an
 * A/B of two versions of the gateway interleaved in one run, e.g. a change against its base.
 */
export const SYSTEMS = [
  'parley',
  'socketio-lean',
  'socketio-pg',
  'socketio-client',
  'uws-relay',
  'uws-relay-pg',
  'uws-single',
  'parley-b',
] as const;
export type SystemName = (typeof SYSTEMS)[number];

export interface Topology {
  rooms: number;
  /** fanout: receivers per room; members: members per room (each one both sends and receives). */
  receiversPerRoom: number;
  /** fanout only: publishers per room, members that send and do not count as receivers. */
  publishersPerRoom: number;
  redisUrl: string;
  /**
   * fanout (default): `receiversPerRoom` receivers + `publishersPerRoom` publishers per room.
   * members: `receiversPerRoom` members per room, every one of them sends and receives (small rooms).
   */
  layout?: 'fanout' | 'members';
}

/** One client connection of a topology: its node, room, and whether it counts deliveries / publishes. */
export interface ConnSpec {
  node: number;
  room: number;
  receives: boolean;
  publishes: boolean;
}

/**
 * The connections of a topology, receivers first. Every room's members alternate between the
 * nodes (so a room's traffic crosses nodes), and so do its publishers. Publish index p (the
 * argument of Handle.publish) is the p-th connection that publishes; consecutive indices walk
 * the rooms first, so a round-robin over them spreads the load over every room — and over the
 * nodes: consecutive indices are on different nodes (the j-th publisher of room r is on node
 * (j + r) mod nodes). With node = j mod nodes, a walk over the rooms sent everything to one node,
 * then everything to the other: in small rooms at 1,000 msg/s each node got 1,000 sends/s for
 * 400 ms, then none for 400 ms — not a load any deployment sees, and one that kept resetting the
 * group committer's rate estimate (bench/README.md, eleventh session).
 */
export function layoutOf(topo: Topology, nodes: number): ConnSpec[] {
  const { rooms, receiversPerRoom: per } = topo;
  /** The node of the j-th sender of room r, for publish index p = j × rooms + r. */
  const senderNode = (p: number) => (Math.floor(p / rooms) + (p % rooms)) % nodes;
  if (topo.layout === 'members') {
    // Member k of room r is connection k × rooms + r: publish index p → room p mod rooms.
    return Array.from({ length: rooms * per }, (_, i) => ({
      node: senderNode(i),
      room: i % rooms,
      receives: true,
      publishes: true,
    }));
  }
  const recv = Array.from({ length: rooms * per }, (_, i) => ({
    node: Math.floor(i / rooms) % nodes,
    room: i % rooms,
    receives: true,
    publishes: false,
  }));
  const pubs = Array.from({ length: rooms * topo.publishersPerRoom }, (_, p) => ({
    node: senderNode(p),
    room: p % rooms,
    receives: false,
    publishes: true,
  }));
  return [...recv, ...pubs];
}

/** Group-commit counters summed over a system's nodes (Parley: its /metrics histogram). */
export interface CommitStats {
  commits: number;
  messages: number;
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
  /** Commits so far, for messages per commit: Parley from /metrics, Socket.IO + Postgres one per message; absent otherwise. */
  commitStats?(): Promise<CommitStats>;
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
    case 'parley-b': {
      const dir = process.env.BENCH_PARLEY_B_DIR;
      if (!dir) throw new Error('system parley-b needs BENCH_PARLEY_B_DIR=<another checkout of this repo, npm ci done>');
      // BENCH_PARLEY_B_ENV="K=V,K=V": settings for parley-b only (A/B of a setting on one checkout).
      const extra: Record<string, string> = {};
      for (const kv of (process.env.BENCH_PARLEY_B_ENV ?? '').split(',').filter(Boolean)) {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new Error(`BENCH_PARLEY_B_ENV: "${kv}" is not K=V`);
        extra[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      return withParley(topo, sink, fn, join(resolve(dir), 'apps', 'gateway'), extra);
    }
    case 'socketio-lean':
      return withSocketIo(topo, sink, fn, 'lean', false);
    case 'socketio-pg':
      return withSocketIo(topo, sink, fn, 'lean', true);
    case 'socketio-client':
      return withSocketIo(topo, sink, fn, 'client', false);
    case 'uws-relay':
      return withUws(topo, sink, fn, 'relay');
    case 'uws-relay-pg':
      return withPeerTable('bytea', (db) => withUws(topo, sink, fn, 'relay-pg', db));
    case 'uws-single':
      return withUws(topo, sink, fn, 'single');
  }
}

// ---------------------------------------------------------------- Parley

async function withParley<T>(
  topo: Topology,
  sink: Sink,
  fn: (h: Handle) => Promise<T>,
  gatewayDir?: string,
  extraEnv: Record<string, string> = {},
): Promise<T> {
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
        ...extraEnv,
      };
      const nodes = await Promise.all([
        startGateway({ ...env, PARLEY_NODE_ID: 'fanout-a' }, { dir: gatewayDir }),
        startGateway({ ...env, PARLEY_NODE_ID: 'fanout-b' }, { dir: gatewayDir }),
      ]);
      const clients: WireClient[] = [];
      try {
        debug(`parley gateways up: ${nodes.map((n) => n.url).join(' ')}`);
        const accessToken = await signup(nodes[0]?.url ?? '', 'fanout-owner');
        // Up to 8 owner connections create the rooms side by side (one request at a time each:
        // WireClient.request is not re-entrant); they are not members that receive, and leave.
        await Promise.all(
          Array.from({ length: Math.min(8, topo.rooms) }, async (_, k) => {
            const owner = new WireClient(nodes[0]?.url ?? '', `token=${accessToken}`);
            await owner.opened;
            for (let r = k; r < topo.rooms; r += 8) await owner.request((rid) => encodeRequest({ op: Op.Create, rid, name: roomName(r) }));
            owner.close();
          }),
        );
        debug('parley rooms created');

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
        let errors = 0;
        const specs = layoutOf(topo, 2);
        const conns = await inChunks(specs.length, 50, async (i) => {
          const spec = specs[i] as ConnSpec;
          const conn = await connect(`${spec.receives ? 'r' : 'p'}${i}`, spec.node, spec.room);
          conn.c.onFrame = (f) => {
            if (f.kind === Kind.Event && f.op === Op.Message) {
              if (spec.receives) readTextBody(f.text, sink);
            } else if (f.kind === Kind.Error) errors += 1;
          };
          return { ...conn, spec };
        });
        debug(`parley clients joined (${dropped} connections dropped during setup and retried)`);
        if (dropped) process.stderr.write(`[fanout] parley: ${dropped} connection(s) dropped during setup, retried\n`);
        const pubs = conns.filter((c) => c.spec.publishes);
        let rid = 1;
        return await fn({
          serverPids: nodes.map((n) => n.proc.pid ?? 0),
          postgresPids: () => postgresBackendPids(database),
          errors: () => errors,
          commitStats: async () => {
            const all = await Promise.all(nodes.map((n) => commitMetrics(n.url)));
            return { commits: all.reduce((a, m) => a + m.commits, 0), messages: all.reduce((a, m) => a + m.messages, 0) };
          },
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

/** A gateway's group-commit histogram totals (parley_commit_batch_size_count / _sum) from /metrics. */
export async function commitMetrics(url: string): Promise<CommitStats> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const metric = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? 0);
  return { commits: metric('parley_commit_batch_size_count'), messages: metric('parley_commit_batch_size_sum') };
}

// ---------------------------------------------------------------- Socket.IO

interface SioConn {
  emit(...args: unknown[]): void;
  close(): void;
}

async function withSocketIo<T>(
  topo: Topology,
  sink: Sink,
  fn: (h: Handle) => Promise<T>,
  client: 'lean' | 'client',
  persist: boolean,
): Promise<T> {
  if (!persist) return socketIoOn(topo, sink, fn, client, null);
  return withPeerTable('text', (db) => socketIoOn(topo, sink, fn, client, db));
}

/** A fresh database with the persisting peers' table, `messages (id, room, body, created_at)`. */
function withPeerTable<T>(body: 'text' | 'bytea', run: (db: { databaseUrl: string; database: string }) => Promise<T>): Promise<T> {
  return withDatabase(async (databaseUrl, database) => {
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(
        `create table messages (id bigserial primary key, room text not null, body ${body} not null, created_at timestamptz not null default now())`,
      );
    } finally {
      await sql.end();
    }
    return run({ databaseUrl, database });
  });
}

async function socketIoOn<T>(
  topo: Topology,
  sink: Sink,
  fn: (h: Handle) => Promise<T>,
  client: 'lean' | 'client',
  db: { databaseUrl: string; database: string } | null,
): Promise<T> {
  const key = `parley_bench_sio_${process.pid}_${Date.now().toString(36)}`;
  const env = { REDIS_URL: topo.redisUrl, ...(db ? { DATABASE_URL: db.databaseUrl } : {}) };
  const nodes = await Promise.all([0, 1].map(() => startPeer('socketio-server.ts', ['0', key, ...(db ? ['pg'] : [])], env)));
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
    const specs = layoutOf(topo, 2);
    const all = await inChunks(specs.length, 50, async (i) => {
      const spec = specs[i] as ConnSpec;
      return { c: await connect(spec.node, spec.room, spec.receives), room: roomName(spec.room), spec };
    });
    const pubs = all.filter((x) => x.spec.publishes);
    let published = 0;
    return await fn({
      serverPids: nodes.map((n) => n.pid),
      postgresPids: () => (db ? postgresBackendPids(db.database) : []),
      errors: () => 0,
      // One INSERT, one transaction per message: the commit count is the publish count.
      ...(db ? { commitStats: async () => ({ commits: published, messages: published }) } : {}),
      publish(p, step, sentAt) {
        const pub = pubs[p];
        published += 1;
        pub?.c.emit('pub', pub.room, textBody(step, sentAt));
      },
    });
  } finally {
    for (const c of conns) c.close();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

// ---------------------------------------------------------------- bare uWS

async function withUws<T>(
  topo: Topology,
  sink: Sink,
  fn: (h: Handle) => Promise<T>,
  mode: 'relay' | 'relay-pg' | 'single',
  db: { databaseUrl: string; database: string } | null = null,
): Promise<T> {
  const prefix = `parley_bench_uws_${process.pid}_${Date.now().toString(36)}:`;
  const count = mode === 'single' ? 1 : 2;
  const env = { REDIS_URL: topo.redisUrl, ...(db ? { DATABASE_URL: db.databaseUrl } : {}) };
  const nodes = await Promise.all(Array.from({ length: count }, () => startPeer('uws-relay.ts', [mode, '0', prefix], env)));
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
    const specs = layoutOf(topo, count);
    const all = await inChunks(specs.length, 50, async (i) => {
      const spec = specs[i] as ConnSpec;
      return { ws: await connect(spec.node, spec.room, spec.receives), room: roomName(spec.room), spec };
    });
    const pubs = all.filter((x) => x.spec.publishes);
    let published = 0;
    return await fn({
      serverPids: nodes.map((n) => n.pid),
      postgresPids: () => (db ? postgresBackendPids(db.database) : []),
      errors: () => 0,
      // One INSERT, one transaction per message: the commit count is the publish count.
      ...(db ? { commitStats: async () => ({ commits: published, messages: published }) } : {}),
      publish(p, step, sentAt) {
        const pub = pubs[p];
        published += 1;
        pub?.ws.send(encode(['p', pub.room, binaryBody(step, sentAt)]));
      },
    });
  } finally {
    for (const ws of sockets) ws.terminate();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}
