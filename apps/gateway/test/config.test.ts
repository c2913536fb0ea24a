import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';

describe('config: PARLEY_ADMIN_TOKEN', () => {
  it('unset or empty (compose passes "" when it is not set) disables the admin API', () => {
    expect(parseConfig({}).adminToken).toBeNull();
    expect(parseConfig({ PARLEY_ADMIN_TOKEN: '' }).adminToken).toBeNull();
  });

  it('a short token is refused at start, naming the variable; a long one is taken', () => {
    expect(() => parseConfig({ PARLEY_ADMIN_TOKEN: 'too-short' })).toThrow(ConfigError);
    expect(() => parseConfig({ PARLEY_ADMIN_TOKEN: 'too-short' })).toThrow('PARLEY_ADMIN_TOKEN: at least 24 characters');
    expect(parseConfig({ PARLEY_ADMIN_TOKEN: 'x'.repeat(24) }).adminToken).toBe('x'.repeat(24));
  });
});

describe('config: PARLEY_LISTEN_BACKLOG', () => {
  it('defaults to 4096 (8 uWS listen sockets); below 512 or above 65536 is refused, named', () => {
    expect(parseConfig({}).listenBacklog).toBe(4096);
    expect(parseConfig({ PARLEY_LISTEN_BACKLOG: '1024' }).listenBacklog).toBe(1024);
    expect(() => parseConfig({ PARLEY_LISTEN_BACKLOG: '100' })).toThrow('PARLEY_LISTEN_BACKLOG');
    expect(() => parseConfig({ PARLEY_LISTEN_BACKLOG: '100000' })).toThrow('PARLEY_LISTEN_BACKLOG');
  });
});

describe('config: per-user channel and per-message reaction caps', () => {
  it('default to 50 owned channels and 20 different reactions; out-of-range values are refused, named', () => {
    expect(parseConfig({})).toMatchObject({ maxChannelsPerUser: 50, maxReactionsPerMessage: 20 });
    expect(parseConfig({ PARLEY_MAX_CHANNELS_PER_USER: '3', PARLEY_MAX_REACTIONS_PER_MESSAGE: '5' })).toMatchObject({
      maxChannelsPerUser: 3,
      maxReactionsPerMessage: 5,
    });
    expect(() => parseConfig({ PARLEY_MAX_CHANNELS_PER_USER: '0' })).toThrow('PARLEY_MAX_CHANNELS_PER_USER');
    expect(() => parseConfig({ PARLEY_MAX_REACTIONS_PER_MESSAGE: '1001' })).toThrow('PARLEY_MAX_REACTIONS_PER_MESSAGE');
  });

  it('a connection joins at most 100 channels unless PARLEY_MAX_JOINS_PER_CONN says otherwise (≥ 1)', () => {
    expect(parseConfig({}).maxJoinsPerConn).toBe(100);
    expect(parseConfig({ PARLEY_MAX_JOINS_PER_CONN: '500' }).maxJoinsPerConn).toBe(500);
    expect(() => parseConfig({ PARLEY_MAX_JOINS_PER_CONN: '0' })).toThrow('PARLEY_MAX_JOINS_PER_CONN');
  });
});

describe("config: the group commit's wait for company", () => {
  it('waits at most 40 ms for 16 mean gaps from 200 sends/s by default; all are settings, out-of-range values refused, named', () => {
    expect(parseConfig({})).toMatchObject({ commitMaxWaitMs: 40, commitLingerGaps: 16, commitBusyRate: 200 });
    expect(parseConfig({ PARLEY_COMMIT_MAX_WAIT_MS: '8', PARLEY_COMMIT_LINGER_GAPS: '4', PARLEY_COMMIT_BUSY_RATE: '0' })).toMatchObject({
      commitMaxWaitMs: 8,
      commitLingerGaps: 4,
      commitBusyRate: 0,
    });
    expect(() => parseConfig({ PARLEY_COMMIT_BUSY_RATE: '-1' })).toThrow('PARLEY_COMMIT_BUSY_RATE');
    expect(() => parseConfig({ PARLEY_COMMIT_LINGER_GAPS: '0' })).toThrow('PARLEY_COMMIT_LINGER_GAPS');
    expect(() => parseConfig({ PARLEY_COMMIT_LINGER_GAPS: '65' })).toThrow('PARLEY_COMMIT_LINGER_GAPS');
    expect(() => parseConfig({ PARLEY_COMMIT_MAX_WAIT_MS: '51' })).toThrow('PARLEY_COMMIT_MAX_WAIT_MS');
  });
});

describe('config: PARLEY_JWT_SECRET (issue 10, item 8)', () => {
  it('is required with DATABASE_URL; embedded mode may leave it unset (generated: jwt-secret.ts)', () => {
    expect(() => parseConfig({ DATABASE_URL: 'postgres://h/db' })).toThrow('PARLEY_JWT_SECRET: required with DATABASE_URL');
    expect(parseConfig({ DATABASE_URL: 'postgres://h/db', PARLEY_JWT_SECRET: 'x'.repeat(32) }).jwtSecret).toBe('x'.repeat(32));
    expect(() => parseConfig({ REDIS_URL: 'redis://h:6379' })).toThrow('PARLEY_JWT_SECRET: required with REDIS_URL');
    expect(parseConfig({}).jwtSecret).toBeNull();
    expect(parseConfig({ PARLEY_JWT_SECRET: '' }).jwtSecret).toBeNull();
  });

  it('refuses the secrets earlier versions published as defaults, and short ones', () => {
    expect(() => parseConfig({ PARLEY_JWT_SECRET: 'parley-dev-secret-change-me' })).toThrow('published as an example');
    expect(() => parseConfig({ PARLEY_JWT_SECRET: 'compose-only-secret-change-me-0123456789' })).toThrow('published as an example');
    expect(() => parseConfig({ PARLEY_JWT_SECRET: 'short' })).toThrow(ConfigError);
  });
});
