import type uWS from 'uWebSockets.js';
import { type ErrorFrame, type Event, encodeBatch, encodeError, encodeEvent, encodeReply, type Reply } from '@parley/protocol';
import type { Metrics } from '../metrics.js';
import type { Conn } from './conn.js';

type WS = uWS.WebSocket<Conn>;

/**
 * Frames for one socket (replies, errors, direct events). Everything queued for a socket within
 * one event-loop tick leaves as ONE WebSocket message (a batch frame): acks resolved together by a
 * group commit cost one write per client instead of one per ack.
 */
export class Outbox {
  // The Conn is kept beside the socket: a closed uWS socket must not be touched again.
  private readonly pending = new Map<WS, { conn: Conn; frames: Uint8Array[] }>();
  private scheduled = false;

  constructor(private readonly metrics: Metrics) {}

  reply(ws: WS, r: Reply): void {
    this.raw(ws, encodeReply(r), 'reply');
  }
  event(ws: WS, e: Event): void {
    this.raw(ws, encodeEvent(e), 'event');
  }
  error(ws: WS, e: ErrorFrame): void {
    this.metrics.errors.inc({ code: e.code });
    this.raw(ws, encodeError(e), 'error');
  }
  raw(ws: WS, bytes: Uint8Array, kind: string): void {
    const conn = userData(ws);
    if (!conn?.open) return;
    this.metrics.framesOut.inc(kind);
    const q = this.pending.get(ws);
    if (q) q.frames.push(bytes);
    else this.pending.set(ws, { conn, frames: [bytes] });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends everything queued now (also before a close, so a final error frame is not lost). */
  flush(only?: WS): void {
    if (only) {
      this.flushOne(only);
      return;
    }
    this.scheduled = false;
    for (const ws of [...this.pending.keys()]) this.flushOne(ws);
  }

  private flushOne(ws: WS): void {
    const q = this.pending.get(ws);
    if (!q) return;
    this.pending.delete(ws);
    if (q.conn.open) ws.send(encodeBatch(q.frames), true);
  }
}

/**
 * The socket's Conn, or undefined once uWS has closed it (uWS throws on any access to a closed
 * socket; an async request can finish after its socket went away).
 */
export function userData(ws: WS): Conn | undefined {
  try {
    return ws.getUserData();
  } catch {
    return undefined;
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
