import type uWS from 'uWebSockets.js';
import { type ErrorFrame, type Event, encodeError, encodeEvent, encodeReply, type Reply } from '@parley/protocol';
import type { Metrics } from '../metrics.js';
import type { Conn } from './conn.js';

/** Direct (non-broadcast) frames to one socket; drops silently only when the socket is gone. */
export class Outbox {
  constructor(private readonly metrics: Metrics) {}

  reply(ws: uWS.WebSocket<Conn>, r: Reply): void {
    this.raw(ws, encodeReply(r), 'reply');
  }
  event(ws: uWS.WebSocket<Conn>, e: Event): void {
    this.raw(ws, encodeEvent(e), 'event');
  }
  error(ws: uWS.WebSocket<Conn>, e: ErrorFrame): void {
    this.metrics.errors.inc({ code: e.code });
    this.raw(ws, encodeError(e), 'error');
  }
  raw(ws: uWS.WebSocket<Conn>, bytes: Uint8Array, kind: string): void {
    if (!ws.getUserData().open) return;
    ws.send(bytes, true);
    this.metrics.framesOut.inc({ kind });
  }
}

/** An error that becomes an error frame answering the request that caused it. */
export class RequestError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
