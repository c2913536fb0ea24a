import { ErrorCode, Limits, ParleyError } from '@parley/client';
import type { PendingItem } from './timeline.ts';

/**
 * A send's life in the list: `sending` from Enter until the server's ack (then it becomes a
 * normal message, by seq), or `failed` with a reason the person can act on, and a retry that
 * reuses the client message id so the server stores it at most once.
 */
export function markFailed(pending: readonly PendingItem[], cmid: string, error: string): PendingItem[] {
  return pending.map((p) => (p.cmid === cmid ? { ...p, state: 'failed', error } : p));
}
export function markSending(pending: readonly PendingItem[], cmid: string): PendingItem[] {
  return pending.map((p) => (p.cmid === cmid ? { ...p, state: 'sending', error: null } : p));
}
export const removePending = (pending: readonly PendingItem[], cmid: string): PendingItem[] => pending.filter((p) => p.cmid !== cmid);

/** Why a send was refused, in words; `retryable` says whether Retry makes sense. */
export function sendErrorText(err: unknown): { text: string; retryable: boolean } {
  if (!(err instanceof ParleyError)) return { text: 'not sent: something went wrong', retryable: true };
  switch (err.code) {
    case ErrorCode.Muted:
      return { text: `not sent: you are muted in this channel (${err.message})`, retryable: false };
    case ErrorCode.RateLimited:
      return {
        text: `not sent: you are sending too fast${err.retryAfterMs ? `; try again in ${Math.ceil(err.retryAfterMs / 1000)} s` : ''}`,
        retryable: true,
      };
    case ErrorCode.InvalidFields:
    case ErrorCode.TooLarge:
      return { text: `not sent: ${err.message}`, retryable: false };
    case ErrorCode.Banned:
      return { text: 'not sent: you are banned from this channel', retryable: false };
    case ErrorCode.NotMember:
    case ErrorCode.NotFound:
      return { text: `not sent: ${err.message}`, retryable: false };
    default:
      return { text: `not sent: ${err.message}`, retryable: err.retryable };
  }
}

/** The composer's own check before anything is sent: the server's length limit, in characters. */
export function lengthProblem(text: string, limit: number = Limits.text): string | null {
  if (text.length <= limit) return null;
  return `Too long: ${text.length.toLocaleString('en')} characters, the limit is ${limit.toLocaleString('en')}. Shorten it by ${(text.length - limit).toLocaleString('en')}.`;
}
