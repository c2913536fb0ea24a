import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { resolveJwtSecret } from '../src/jwt-secret.js';
import { createLogger } from '../src/logger.js';

const logger = createLogger('silent', 'test');

describe('resolveJwtSecret (embedded mode without PARLEY_JWT_SECRET)', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('generates 32 random bytes once, keeps them (0600) and reads them back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-jwt-'));
    dirs.push(dir);
    const config = parseConfig({ PARLEY_DATA_DIR: join(dir, 'data') });
    const a = await resolveJwtSecret(config, logger);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(join(dir, 'data', 'jwt-secret'))).mode & 0o777).toBe(0o600);
    expect(await resolveJwtSecret(config, logger)).toBe(a);
    // Two processes starting at once agree on one secret (the file is created exclusively).
    const other = parseConfig({ PARLEY_DATA_DIR: join(dir, 'other') });
    const [x, y] = await Promise.all([resolveJwtSecret(other, logger), resolveJwtSecret(other, logger)]);
    expect(x).toBe(y);
    expect((await readFile(join(dir, 'other', 'jwt-secret'), 'utf8')).trim()).toBe(x);
  });

  it('memory:// keeps nothing: random per process; a configured secret wins; a truncated file is an error', async () => {
    const mem = parseConfig({ PARLEY_DATA_DIR: 'memory://' });
    const [m1, m2] = [await resolveJwtSecret(mem, logger), await resolveJwtSecret(mem, logger)];
    expect(m1).not.toBe(m2);
    expect(await resolveJwtSecret(parseConfig({ PARLEY_JWT_SECRET: 's'.repeat(20) }), logger)).toBe('s'.repeat(20));
    const dir = await mkdtemp(join(tmpdir(), 'parley-jwt-'));
    dirs.push(dir);
    await writeFile(join(dir, 'jwt-secret'), 'abc\n');
    await expect(resolveJwtSecret(parseConfig({ PARLEY_DATA_DIR: dir }), logger)).rejects.toThrow('too short');
  });
});
