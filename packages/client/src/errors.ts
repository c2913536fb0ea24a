import { CloseCode, ErrorCode, isRetryable } from '@parley/protocol';

/**
 * Every failure the SDK reports. `code` is an `ErrorCode` from an error frame, or `Unavailable`
 * for timeouts and lost connections; `connect()` rejects with the WebSocket close code instead
 * (e.g. 4001 = `CloseCode.Unauthorized`) so callers can tell auth failures from outages.
 */
export class ParleyError extends Error {
  override readonly name = 'ParleyError';
  readonly code: number;
  readonly retryAfterMs: number | undefined;

  constructor(code: number, message: string, retryAfterMs?: number) {
    super(message);
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }

  /** Safe to try again unchanged (after `retryAfterMs` if given). */
  get retryable(): boolean {
    return isRetryable(this.code);
  }
}

export const unavailable = (message: string): ParleyError => new ParleyError(ErrorCode.Unavailable, message);

/** What pending work fails with when the connection ends for good. */
export function closedError(code: number, reason: string): ParleyError {
  const text = `connection closed (${code}${reason ? ` ${reason}` : ''})`;
  return code === CloseCode.Unauthorized ? new ParleyError(ErrorCode.Unauthorized, text) : new ParleyError(ErrorCode.Unavailable, text);
}
