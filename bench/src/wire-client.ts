import { decodeServer, type ServerFrame, SUBPROTOCOL } from '@parley/protocol';
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

  send(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  close(): void {
    this.ws.terminate();
  }
}
