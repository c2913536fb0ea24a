import type uWS from 'uWebSockets.js';
import { canonicalAddress } from './address.js';

/** Reads a JSON body of at most `limit` bytes; resolves null when the request was aborted. */
export function readJson(res: uWS.HttpResponse, limit = 16 * 1024): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, last) => {
      size += chunk.byteLength;
      if (size > limit) {
        reject(new HttpError(413, 'body too large'));
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0)));
      if (last) {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'));
        } catch {
          reject(new HttpError(400, 'body is not valid JSON'));
        }
      }
    });
  });
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const STATUS: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  426: '426 Upgrade Required',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/** Tracks abort so a late async answer never writes to a dead response. */
export function guard(res: uWS.HttpResponse): { aborted: boolean } {
  const state = { aborted: false };
  res.onAborted(() => {
    state.aborted = true;
  });
  return state;
}

export function send(
  res: uWS.HttpResponse,
  state: { aborted: boolean },
  status: number,
  body: string,
  type = 'application/json',
  headers: Record<string, string> = {},
): void {
  if (state.aborted) return;
  res.cork(() => {
    res.writeStatus(STATUS[status] ?? `${status} Status`);
    if (status !== 204) res.writeHeader('content-type', type);
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    res.end(status === 204 ? '' : body);
  });
}

/** A plain request for the WebSocket endpoint: 426, naming the upgrade and the subprotocol. */
export function upgradeRequired(res: uWS.HttpResponse, subprotocol: string): void {
  res.cork(() => {
    res.writeStatus('426 Upgrade Required').writeHeader('upgrade', 'websocket').writeHeader('content-type', 'application/json');
    res.end(JSON.stringify({ error: `WebSocket upgrade required (subprotocol ${subprotocol})` }));
  });
}

export const sendJson = (res: uWS.HttpResponse, state: { aborted: boolean }, status: number, body: unknown) =>
  send(res, state, status, JSON.stringify(body));

/**
 * The client's address for per-source limits: the TCP peer, or behind a trusted proxy
 * (PARLEY_TRUST_PROXY) the last X-Forwarded-For entry, the one that proxy appended. Read during
 * the handler call (uWS invalidates `req` after it). In one spelling per address (address.ts).
 */
export function clientAddress(res: uWS.HttpResponse, req: uWS.HttpRequest, trustProxy: boolean): string {
  if (trustProxy) {
    const last = req.getHeader('x-forwarded-for').split(',').at(-1)?.trim();
    if (last) return canonicalAddress(last);
  }
  return canonicalAddress(Buffer.from(res.getRemoteAddressAsText()).toString());
}
