import { decodeServer, Kind, type ServerFrame, SUBPROTOCOL } from '@parley/protocol';
import { WebSocket } from 'ws';

/** A lean protocol client for load generation: raw frames, no SDK bookkeeping. */
export class WireClient {
  readonly ws: WebSocket;
  onFrame: (f: ServerFrame) => void = () => {};
  readonly opened: Promise<void>;

  constructor(url: string, query: string) {
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

  /** Sends one request and resolves with its reply (rejects with its error frame). */
  request(build: (rid: number) => Uint8Array): Promise<ServerFrame> {
    const rid = 1 + Math.floor(Math.random() * 1e9);
    return new Promise((resolve, reject) => {
      const prev = this.onFrame;
      this.onFrame = (f) => {
        if ((f.kind === Kind.Reply || f.kind === Kind.Error) && f.rid === rid) {
          this.onFrame = prev;
          if (f.kind === Kind.Reply) resolve(f);
          else reject(new Error(`${f.code}: ${f.message}`));
        } else prev(f);
      };
      this.send(build(rid));
    });
  }

  send(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  close(): void {
    this.ws.terminate();
  }
}
