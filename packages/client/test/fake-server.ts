import type { AddressInfo } from 'node:net';
import {
  type ChatMessage,
  decodeRequest,
  ErrorCode,
  type Event,
  encodeBatch,
  encodeError,
  encodeEvent,
  encodeReply,
  Op,
  type PresenceEntry,
  type Reply,
  type Request,
  SUBPROTOCOL,
} from '@parley/protocol';
import { type WebSocket, WebSocketServer } from 'ws';

/** One connected client as the fake server sees it. */
export interface FakeConn {
  ws: WebSocket;
  user: string;
  guest: boolean;
  joined: Set<number>;
  /** Every request received on this connection, in order. */
  requests: Request[];
}

interface FakeChannel {
  cid: number;
  name: string;
  messages: ChatMessage[];
  cmids: Map<string, ChatMessage>;
}

/** Return true from a hook to take over a request (the default handler is skipped). */
export type Hook = (conn: FakeConn, req: Request) => boolean;

/**
 * An in-process server speaking the Parley wire protocol with just enough behaviour (channels,
 * seq, cmid dedup, history paging, fan-out) to exercise the SDK; tests bend it through hooks.
 */
export class FakeServer {
  readonly conns = new Set<FakeConn>();
  readonly channels = new Map<string, FakeChannel>();
  /** All requests from all connections, in arrival order. */
  readonly log: Array<{ conn: FakeConn; req: Request }> = [];
  hooks: Hook[] = [];
  /** When set, fan-out skips message events for which it returns false. */
  deliverFilter: ((conn: FakeConn, m: ChatMessage) => boolean) | undefined;
  /** Do not answer sends (but store and fan out), to simulate an ack lost in a disconnect. */
  withholdAcks = false;
  connections = 0;
  /** The `guestToken` query of every connection attempt that got this far (null: none). */
  readonly guestTokensSeen: (string | null)[] = [];
  /** Close codes for the next connection attempts, used one per attempt before Hello. */
  refuse: number[] = [];
  private nextCid = 1;

  private constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeServer> {
    const wss = new WebSocketServer({
      port: 0,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
      // Like the gateway, refuse an expired token at the HTTP upgrade rather than with a close code.
      verifyClient: (info: { req: { url?: string } }, done: (ok: boolean, status?: number) => void) =>
        done(!info.req.url?.includes('token=expired'), 401),
    });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const { port } = wss.address() as AddressInfo;
    const server = new FakeServer(wss, `http://127.0.0.1:${port}`);
    wss.on('connection', (ws, req) => server.accept(ws, req.url ?? '/'));
    return server;
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  channel(name: string): FakeChannel {
    let ch = this.channels.get(name);
    if (!ch) {
      ch = { cid: this.nextCid++, name, messages: [], cmids: new Map() };
      this.channels.set(name, ch);
    }
    return ch;
  }

  /** Store a message from `user` as the server would (next seq) without sending it to anyone. */
  store(name: string, user: string, text: string): ChatMessage {
    const ch = this.channel(name);
    const m: ChatMessage = { cid: ch.cid, seq: ch.messages.length + 1, user, text, ts: Date.now() };
    ch.messages.push(m);
    return m;
  }

  /** Store and fan out to the channel's members. */
  post(name: string, user: string, text: string): ChatMessage {
    const m = this.store(name, user, text);
    this.fanOut(m);
    return m;
  }

  fanOut(m: ChatMessage): void {
    for (const c of this.conns) {
      if (c.joined.has(m.cid) && (this.deliverFilter?.(c, m) ?? true)) this.push(c, [messageEvent(m)]);
    }
  }

  push(conn: FakeConn, frames: Uint8Array[]): void {
    conn.ws.send(encodeBatch(frames));
  }

  event(conn: FakeConn, e: Event): void {
    this.push(conn, [encodeEvent(e)]);
  }

  only(): FakeConn {
    const [c, ...rest] = [...this.conns];
    if (!c || rest.length > 0) throw new Error(`expected one connection, have ${this.conns.size}`);
    return c;
  }

  requestsOf(op: Request['op']): Request[] {
    return this.log.filter((l) => l.req.op === op).map((l) => l.req);
  }

  private accept(ws: WebSocket, path: string): void {
    this.connections++;
    const q = new URL(path, 'http://x').searchParams;
    const token = q.get('token');
    if (token === 'bad') {
      ws.close(4001, 'invalid token');
      return;
    }
    const refuse = this.refuse.shift();
    if (refuse !== undefined) {
      ws.close(refuse, 'refused');
      return;
    }
    // A fake guest token is "gt:<name>:<connection number>"; like the gateway, it names the guest.
    const guestToken = q.get('guestToken');
    this.guestTokensSeen.push(guestToken);
    const user = token ? token.replace(/^user:/, '') : (guestToken?.split(':')[1] ?? (q.get('guest') || `guest-${this.connections}`));
    const conn: FakeConn = { ws, user, guest: !token, joined: new Set(), requests: [] };
    this.conns.add(conn);
    ws.on('close', () => this.conns.delete(conn));
    ws.on('message', (data: Buffer) => this.onFrame(conn, new Uint8Array(data)));
    const hello = { op: Op.Hello, user, guest: conn.guest, node: 'fake-1', heartbeatMs: 25_000 } as const;
    this.event(conn, conn.guest ? { ...hello, guestToken: `gt:${user}:${this.connections}` } : hello);
  }

  private onFrame(conn: FakeConn, bytes: Uint8Array): void {
    const r = decodeRequest(bytes);
    if (!r.ok) {
      conn.ws.send(encodeError(r.error));
      return;
    }
    const req = r.value;
    conn.requests.push(req);
    this.log.push({ conn, req });
    for (const h of this.hooks) if (h(conn, req)) return;
    this.handle(conn, req);
  }

  reply(conn: FakeConn, r: Reply): true {
    conn.ws.send(encodeReply(r));
    return true;
  }

  error(conn: FakeConn, req: Request, code: number, message: string, retryAfterMs?: number): true {
    conn.ws.send(encodeError({ op: req.op, rid: req.rid, code, message, ...(retryAfterMs ? { retryAfterMs } : {}) }));
    return true;
  }

  private byCid(cid: number): FakeChannel | undefined {
    for (const ch of this.channels.values()) if (ch.cid === cid) return ch;
    return undefined;
  }

  private members(cid: number): PresenceEntry[] {
    return [...this.conns].filter((c) => c.joined.has(cid)).map((c) => ({ user: c.user, guest: c.guest }));
  }

  private handle(conn: FakeConn, req: Request): boolean {
    switch (req.op) {
      case Op.Create: {
        if (this.channels.has(req.name)) return this.error(conn, req, ErrorCode.Conflict, 'channel exists');
        const ch = this.channel(req.name);
        return this.reply(conn, { op: Op.Create, rid: req.rid, cid: ch.cid, name: ch.name });
      }
      case Op.Join: {
        const ch = this.channels.get(req.name);
        if (!ch) return this.error(conn, req, ErrorCode.NotFound, 'no such channel');
        conn.joined.add(ch.cid);
        const lastSeq = ch.messages.length;
        return this.reply(conn, { op: Op.Join, rid: req.rid, cid: ch.cid, name: ch.name, lastSeq, members: this.members(ch.cid) });
      }
      case Op.Leave:
        conn.joined.delete(req.cid);
        return this.reply(conn, { op: Op.Leave, rid: req.rid } as Reply);
      case Op.List:
        return this.reply(conn, {
          op: Op.List,
          rid: req.rid,
          channels: [...this.channels.values()].map((c) => ({ cid: c.cid, name: c.name, members: this.members(c.cid).length })),
        });
      case Op.Members:
        return this.reply(conn, {
          op: Op.Members,
          rid: req.rid,
          members: this.members(req.cid).map((m) => ({ user: m.user, role: 1, online: true })),
        });
      case Op.Message: {
        const ch = this.byCid(req.cid);
        if (!ch || !conn.joined.has(req.cid)) return this.error(conn, req, ErrorCode.NotMember, 'not a member');
        let m = req.cmid ? ch.cmids.get(req.cmid) : undefined;
        if (!m) {
          m = this.post(ch.name, conn.user, req.text);
          if (req.cmid) ch.cmids.set(req.cmid, m);
        }
        return this.withholdAcks || this.reply(conn, { op: Op.Message, rid: req.rid, seq: m.seq, ts: m.ts });
      }
      case Op.History: {
        const ch = this.byCid(req.cid);
        if (!ch) return this.error(conn, req, ErrorCode.NotFound, 'no such channel');
        let list = ch.messages;
        if (req.after !== null) list = list.filter((m) => m.seq > (req.after as number));
        if (req.before !== null) list = list.filter((m) => m.seq < (req.before as number));
        // after: oldest first from the cursor; otherwise the newest page before the cursor.
        const page = req.after !== null ? list.slice(0, req.limit) : list.slice(-req.limit);
        return this.reply(conn, { op: Op.History, rid: req.rid, cid: ch.cid, messages: page, more: list.length > page.length });
      }
      case Op.Typing:
        return true;
      case Op.React:
      case Op.Unreact:
        return this.reply(conn, { op: req.op, rid: req.rid } as Reply);
      case Op.Command:
        return this.reply(conn, { op: Op.Command, rid: req.rid, text: `ok: ${req.text}` });
    }
  }
}

export function messageEvent(m: ChatMessage): Uint8Array {
  return encodeEvent({ op: Op.Message, ...m });
}

/** Poll until `check` stops throwing (or returns true), like a tiny vi.waitFor with better messages. */
export async function until(check: () => boolean | undefined, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (check() !== false) return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
