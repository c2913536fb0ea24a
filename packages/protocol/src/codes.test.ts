import { describe, expect, it } from 'vitest';
import { CloseCode, closeRetryAfterMs, ErrorCode, isRetryable, rateAbuseReason } from './codes.js';

const errorCodes = Object.entries(ErrorCode);
const closeCodes = Object.entries(CloseCode);

describe('error code registry', () => {
  it('every error code is an integer in 100–599 and codes are unique', () => {
    for (const [name, code] of errorCodes) {
      expect(Number.isInteger(code), name).toBe(true);
      expect(code, name).toBeGreaterThanOrEqual(100);
      expect(code, name).toBeLessThanOrEqual(599);
    }
    expect(new Set(errorCodes.map(([, c]) => c)).size).toBe(errorCodes.length);
  });

  it('each code sits in the range its meaning belongs to (codes.ts header)', () => {
    const range: Record<keyof typeof ErrorCode, number> = {
      BadFrame: 100,
      UnknownType: 100,
      InvalidFields: 100,
      TooLarge: 100,
      Unauthorized: 200,
      Forbidden: 200,
      NotMember: 200,
      Muted: 200,
      Banned: 200,
      GuestNotAllowed: 200,
      NotFound: 300,
      Conflict: 300,
      UnknownCommand: 300,
      RateLimited: 400,
      Busy: 400,
      QuotaExceeded: 400,
      Internal: 500,
      Unavailable: 500,
    };
    expect(Object.keys(range).sort()).toEqual(Object.keys(ErrorCode).sort());
    for (const [name, code] of errorCodes) {
      expect(Math.floor(code / 100) * 100, name).toBe(range[name as keyof typeof ErrorCode]);
    }
  });
});

describe('close code registry', () => {
  it('every close code is in 4000–4199 (application range of RFC 6455) and unique', () => {
    for (const [name, code] of closeCodes) {
      expect(Number.isInteger(code), name).toBe(true);
      expect(code, name).toBeGreaterThanOrEqual(4000);
      expect(code, name).toBeLessThanOrEqual(4199);
    }
    expect(new Set(closeCodes.map(([, c]) => c)).size).toBe(closeCodes.length);
  });

  it('do-not-reconnect codes are 4000–4099, reconnect-and-resume codes 4100–4199', () => {
    for (const code of [CloseCode.Unauthorized, CloseCode.ProtocolAbuse, CloseCode.RateLimitAbuse, CloseCode.UnsupportedVersion]) {
      expect(code).toBeLessThan(4100);
    }
    for (const code of [CloseCode.GoingAway, CloseCode.SlowConsumer, CloseCode.IdleTimeout]) {
      expect(code).toBeGreaterThanOrEqual(4100);
    }
  });
});

describe('isRetryable', () => {
  it('rate limits, server errors and 41xx closes are retryable', () => {
    expect(isRetryable(ErrorCode.RateLimited)).toBe(true);
    expect(isRetryable(ErrorCode.Internal)).toBe(true);
    expect(isRetryable(ErrorCode.Unavailable)).toBe(true);
    expect(isRetryable(CloseCode.GoingAway)).toBe(true);
    expect(isRetryable(CloseCode.SlowConsumer)).toBe(true);
    expect(isRetryable(CloseCode.IdleTimeout)).toBe(true);
  });

  it('protocol, auth and state errors and 40xx closes are not', () => {
    for (const [name, code] of errorCodes) {
      if (code < 400) expect(isRetryable(code), name).toBe(false);
    }
    for (const code of [CloseCode.Unauthorized, CloseCode.ProtocolAbuse, CloseCode.RateLimitAbuse, CloseCode.UnsupportedVersion]) {
      expect(isRetryable(code)).toBe(false);
    }
  });

  it('matches the documented ranges for every integer around them', () => {
    for (let code = 0; code < 5000; code++) {
      const expected = code === 400 || code === 401 || (code >= 500 && code <= 599) || (code >= 4100 && code <= 4199);
      expect(isRetryable(code)).toBe(expected);
    }
  });
});

describe('rate-abuse close reason', () => {
  it('carries the wait the client must respect, and round-trips', () => {
    expect(rateAbuseReason(30_000)).toBe('rate limit exceeded repeatedly; retry after 30000 ms');
    expect(closeRetryAfterMs(rateAbuseReason(30_000))).toBe(30_000);
    expect(closeRetryAfterMs(rateAbuseReason(1.2))).toBe(2);
    expect(closeRetryAfterMs('too many malformed frames')).toBeNull();
    expect(closeRetryAfterMs('retry after 99999999999 ms')).toBeNull(); // absurd waits are not trusted
  });
});
