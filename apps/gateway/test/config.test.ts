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
