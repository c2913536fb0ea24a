import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';

/**
 * RFC 6455 frame header of one unfragmented server→client frame (servers never mask):
 * 2 bytes up to 125 B of payload, 4 up to 65,535 B, 10 above.
 */
export function wsHeaderBytes(payloadBytes: number): number {
  return payloadBytes <= 125 ? 2 : payloadBytes <= 0xffff ? 4 : 10;
}

export interface Captured {
  /** The WebSocket message as the client library delivered it. */
  data: Buffer;
  /** Its payload length. */
  payloadBytes: number;
  /** TCP bytes the client's socket received between the action and this message (header + payload, if nothing else arrived). */
  tcpBytes: number;
}

/**
 * Counts every byte a `ws` client's TCP socket receives, so a captured message can be checked
 * against what really crossed the wire, not just its payload length. Attach it right after
 * constructing the WebSocket (it hooks the `upgrade` event, before `ws` starts reading frames).
 */
export class WireTap {
  bytesIn = 0;

  constructor(private readonly ws: WebSocket) {
    // Prepended once `ws` has attached its own 'data' listener (it does so, then emits 'open', in
    // the same tick as 'upgrade'): ours runs first on every chunk, so bytesIn already includes a
    // message's bytes when its 'message' event fires. Listening earlier would switch the socket to
    // flowing mode before `ws` re-queues the bytes that came with the upgrade response, and `ws`
    // would lose them.
    ws.once('upgrade', (res: IncomingMessage) =>
      ws.once('open', () => res.socket.prependListener('data', (d: Buffer) => (this.bytesIn += d.length))),
    );
  }

  /**
   * Runs `action`, then resolves with the first message `match` accepts (rejects after
   * `timeoutMs`). Start it only once earlier traffic has settled, so the TCP count is this
   * message's alone.
   */
  next(match: (data: Buffer) => boolean, action: () => void | Promise<void>, timeoutMs = 5000): Promise<Captured> {
    const mark = this.bytesIn;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.ws.off('message', onMessage);
        reject(new Error(`no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (data: Buffer) => {
        if (!match(data)) return;
        clearTimeout(timer);
        this.ws.off('message', onMessage);
        resolve({ data, payloadBytes: data.byteLength, tcpBytes: this.bytesIn - mark });
      };
      this.ws.on('message', onMessage);
      Promise.resolve(action()).catch((e: unknown) => {
        clearTimeout(timer);
        this.ws.off('message', onMessage);
        reject(e);
      });
    });
  }
}
