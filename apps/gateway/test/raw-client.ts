import { decodeServer, SUBPROTOCOL } from '@parley/protocol';
import { WebSocket } from 'ws';
import type { Gateway } from '../src/gateway.js';

/** A bare protocol client for abuse tests: raw frames out, every decoded server frame kept. */
export interface Raw {
  ws: WebSocket;
  frames: { kind: number; rid?: number; code?: number; message?: string; op?: number; retryAfterMs?: number }[];
  closed: Promise<{ code: number; reason: string }>;
}

/** `headers`: extra upgrade headers (e.g. X-Forwarded-For, for a gateway that trusts it). */
export async function raw(gw: Gateway, query: string, protocol: string = SUBPROTOCOL, headers: Record<string, string> = {}): Promise<Raw> {
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws?${query}`, protocol, { headers });
  const frames: Raw['frames'] = [];
  ws.on('message', (d: Buffer) => {
    const r = decodeServer(new Uint8Array(d));
    if (r.ok) frames.push(...(r.value as Raw['frames']));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed };
}
