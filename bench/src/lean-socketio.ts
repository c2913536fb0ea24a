import { WebSocket } from 'ws';

/**
 * A lean Socket.IO v5 / Engine.IO v4 client over plain `ws`: websocket transport only, text
 * packets, default namespace. Just enough protocol for the bench: open (0), connect (40),
 * ping (2) → pong (3), events (42), acks (43). `query` is added to the handshake URL (the server
 * sees it in `socket.handshake.query`). `ws` is the raw socket, for byte counting.
 */
export class LeanSocketIo {
  readonly ws: WebSocket;
  readonly connected: Promise<void>;
  onEvent: (args: unknown[]) => void = () => {};
  private ackId = 0;
  private readonly acks = new Map<number, () => void>();

  constructor(url: string, query = '') {
    const q = query ? `&${query}` : '';
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket${q}`, { perMessageDeflate: false });
    this.connected = new Promise((resolve, reject) => {
      this.ws.once('error', reject);
      this.ws.on('message', (data: Buffer) => {
        const s = data.toString();
        switch (s.charCodeAt(0)) {
          case 0x30: // 0 open
            this.ws.send('40');
            return;
          case 0x32: // 2 ping
            this.ws.send('3');
            return;
          case 0x34: // 4 message → socket.io packet
            switch (s.charCodeAt(1)) {
              case 0x30: // 40 connect
                resolve();
                return;
              case 0x32: // 42 event
                this.onEvent(JSON.parse(s.slice(2)) as unknown[]);
                return;
              case 0x33: {
                // 43<id>[...] ack
                const id = Number.parseInt(s.slice(2), 10);
                this.acks.get(id)?.();
                this.acks.delete(id);
                return;
              }
              case 0x34: // 44 connect error
                reject(new Error(s));
                return;
            }
        }
      });
    });
  }

  emit(...args: unknown[]): void {
    this.ws.send(`42${JSON.stringify(args)}`);
  }

  emitWithAck(...args: unknown[]): Promise<void> {
    const id = this.ackId++;
    return new Promise((resolve) => {
      this.acks.set(id, resolve);
      this.ws.send(`42${id}${JSON.stringify(args)}`);
    });
  }

  close(): void {
    this.ws.terminate();
  }
}
