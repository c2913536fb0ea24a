import type { Socket } from 'node:net';
import { decodeServer, ErrorCode, Kind, type ServerFrame, SUBPROTOCOL } from '@parley/protocol';
import { WebSocket } from 'ws';

/** A lean protocol client for load generation: raw frames, no SDK bookkeeping. */
export class WireClient {
  readonly ws: WebSocket;
  onFrame: (f: ServerFrame) => void = () => {};
  readonly opened: Promise<void>;
  private corked = false;

  /**
   * @param cork when true, the sends made in one tick leave in one TCP write (the socket is corked
   *   until the next tick): a closed-loop sender answering a batch of acks with its next sends then
   *   costs the load generator one syscall, not one per send. Off where the systems compared are
   *   driven by other clients (fanout, small-rooms), so that every system sees the same traffic.
   */
  constructor(
    url: string,
    query: string,
    private readonly cork = false,
  ) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?${query}`, SUBPROTOCOL, { perMessageDeflate: false });
    this.ws.binaryType = 'nodebuffer';
    this.ws.on('message', (d: Buffer) => {
      const r = decodeServer(d);
      if (r.ok) for (const f of r.value) this.onFrame(f);
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  /**
   * Sends one request and resolves with its reply (rejects with its error frame). A request the
   * server refused as Busy (its budget for costly requests — joins in a set-up burst) is sent
   * again after the retry-after it named, as the SDK does.
   */
  async request(build: (rid: number) => Uint8Array): Promise<ServerFrame> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.requestOnce(build).then(
        (f) => ({ f }),
        (err: Error & { retryAfterMs?: number; code?: number }) => ({ err }),
      );
      if ('f' in r) return r.f;
      if (r.err.code !== ErrorCode.Busy || attempt >= 50) throw r.err;
      await new Promise((ok) => setTimeout(ok, r.err.retryAfterMs ?? 250));
    }
  }

  private requestOnce(build: (rid: number) => Uint8Array): Promise<ServerFrame> {
    const rid = 1 + Math.floor(Math.random() * 1e9);
    return new Promise((resolve, reject) => {
      const prev = this.onFrame;
      this.onFrame = (f) => {
        if ((f.kind === Kind.Reply || f.kind === Kind.Error) && f.rid === rid) {
          this.onFrame = prev;
          if (f.kind === Kind.Reply) resolve(f);
          else reject(Object.assign(new Error(`${f.code}: ${f.message}`), { code: f.code, retryAfterMs: f.retryAfterMs }));
        } else prev(f);
      };
      this.send(build(rid));
    });
  }

  send(bytes: Uint8Array): void {
    if (this.cork && !this.corked) {
      const socket = (this.ws as unknown as { _socket?: Socket })._socket;
      if (socket) {
        this.corked = true;
        socket.cork();
        process.nextTick(() => {
          this.corked = false;
          socket.uncork();
        });
      }
    }
    this.ws.send(bytes);
  }

  close(): void {
    this.ws.terminate();
  }
}
