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
   * The node's budget for costly requests (history, members, list, join, create) is spent, or this
   * connection already has its share in flight. Retry after `retryAfterMs`.
   */
  Busy: 401,
  /** A configured cap (channels a user owns, distinct reactions on a message) is reached; not retryable as is. */
  QuotaExceeded: 410,
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
   * Kept flooding after being rate limited. The reason ends with "retry after <ms> ms"
   * (`closeRetryAfterMs`): the client may reconnect after that long, not before.
   */
  RateLimitAbuse: 4008,
  /**
   * This account (PARLEY_MAX_CONNS_PER_USER) or this source address (PARLEY_MAX_CONNS_PER_ADDR)
   * already holds the most connections a node allows; the reason says which. Close one first.
   */
  TooManyConnections: 4009,
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

/** The close reason of a RateLimitAbuse (4008) close: says when the client may come back. */
export function rateAbuseReason(retryAfterMs: number): string {
  return `rate limit exceeded repeatedly; retry after ${Math.ceil(retryAfterMs)} ms`;
}

/** The wait a close reason asks for ("… retry after <ms> ms"), or null when it names none. */
export function closeRetryAfterMs(reason: string): number | null {
  const m = /retry after (\d{1,9}) ms$/.exec(reason);
  return m ? Number(m[1]) : null;
}
