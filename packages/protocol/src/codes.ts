/**
 * Error codes carried in error frames, and WebSocket close codes.
 *
 * Error code ranges (error frames, the connection stays open):
 *   100–199  protocol: the frame itself is wrong (undecodable, unknown type, bad fields, too large)
 *   200–299  auth and permission: who you are or what your role allows
 *   300–399  state: the thing you named does not exist or conflicts
 *   400–499  limits: rate limits and quotas; carry a retry-after in ms
 *   500–599  server: internal failure or a dependency unavailable; always safe to retry
 *
 * Close code ranges (the connection ends; RFC 6455 reserves 4000–4999 for applications):
 *   4000–4099  the client must not reconnect without changing something (auth, ban, protocol)
 *   4100–4199  the client should reconnect (with backoff and jitter) and resume
 */
export const ErrorCode = {
  BadFrame: 100,
  UnknownType: 101,
  InvalidFields: 102,
  TooLarge: 103,
  Unauthorized: 200,
  Forbidden: 201,
  NotMember: 202,
  Muted: 203,
  Banned: 204,
  GuestNotAllowed: 205,
  NotFound: 300,
  Conflict: 301,
  UnknownCommand: 302,
  RateLimited: 400,
  /**
   * The node is out of budget for this kind of request (e.g. concurrent history reads); nothing
   * is wrong with the request. Carries retryAfterMs; retry the same request after it.
   */
  Busy: 401,
  Internal: 500,
  Unavailable: 503,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const CloseCode = {
  /** Token missing, invalid or expired. Get a new token before reconnecting. */
  Unauthorized: 4001,
  /** Too many malformed or oversized frames in a short window. */
  ProtocolAbuse: 4002,
  /** An operator deleted or renamed this account: sign in again (a guest may reconnect). */
  AccountChanged: 4003,
  /**
   * Kept flooding after being rate limited. When the reason carries a retry-after
   * (`withRetryAfter`), the client may reconnect once that long has passed.
   */
  RateLimitAbuse: 4008,
  /** Subprotocol version not supported (also refused with HTTP 426 at upgrade where possible). */
  UnsupportedVersion: 4010,
  /** The server is draining (deploy, scale-in): reconnect elsewhere after the jittered delay given. */
  GoingAway: 4100,
  /** Send buffer exceeded the cap (slow consumer). Reconnect and resume: nothing is lost. */
  SlowConsumer: 4101,
  /** Idle: no traffic or pongs within the idle timeout. */
  IdleTimeout: 4102,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Codes a client may retry after backoff without changing anything. */
export function isRetryable(code: number): boolean {
  return code === ErrorCode.RateLimited || code === ErrorCode.Busy || (code >= 500 && code < 600) || (code >= 4100 && code < 4200);
}

/**
 * A close reason saying when the client may come back, e.g. `rate limit exceeded repeatedly;
 * retry after 5000 ms`. A close frame has no field for it, so the reason carries it in this one
 * fixed form, which `retryAfterOf` reads. RFC 6455 allows 123 bytes of reason: the text before
 * the suffix is cut to fit.
 */
export function withRetryAfter(reason: string, retryAfterMs: number): string {
  const suffix = `; retry after ${Math.max(0, Math.ceil(retryAfterMs))} ms`;
  let head = reason;
  while (utf8Length(head) + suffix.length > MAX_CLOSE_REASON) {
    // Never leave half a surrogate pair behind.
    const last = head.charCodeAt(head.length - 1);
    head = head.slice(0, last >= 0xdc00 && last < 0xe000 ? -2 : -1);
  }
  return head + suffix;
}

/** The retry-after in ms of a reason written by `withRetryAfter`, or null when it has none. */
export function retryAfterOf(reason: string): number | null {
  const m = RETRY_AFTER.exec(reason);
  return m ? Number(m[1]) : null;
}

const MAX_CLOSE_REASON = 123;
const RETRY_AFTER = /; retry after (\d{1,12}) ms$/;
const utf8Length = (s: string): number => new TextEncoder().encode(s).byteLength;
