import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

/** The file in PARLEY_DATA_DIR that keeps an embedded node's generated token secret. */
export const SECRET_FILE = 'jwt-secret';

/**
 * The HS256 secret tokens are signed with. A configured one wins (config.ts insists on it
 * whenever DATABASE_URL is set: nodes sharing a database must share the secret). Embedded mode
 * without one never falls back to a published default: it generates 32 random bytes once and
 * keeps them next to the PGlite data (mode 0600), so tokens survive restarts; with
 * PARLEY_DATA_DIR=memory:// nothing survives anyway, so the secret is random per process.
 */
export async function resolveJwtSecret(config: Config, logger: Logger): Promise<string> {
  if (config.jwtSecret) return config.jwtSecret;
  if (config.dataDir.startsWith('memory://')) {
    logger.info('token secret: random for this process (PARLEY_DATA_DIR=memory://)');
    return randomBytes(32).toString('hex');
  }
  const file = join(config.dataDir, SECRET_FILE);
  const existing = await readSecret(file);
  if (existing) return existing;
  await mkdir(config.dataDir, { recursive: true });
  const fresh = randomBytes(32).toString('hex');
  try {
    // 'wx': if another process created it meanwhile, use theirs (read below), never overwrite.
    await writeFile(file, `${fresh}\n`, { flag: 'wx', mode: 0o600 });
    logger.info({ file }, 'token secret: generated and saved (set PARLEY_JWT_SECRET to choose one)');
    return fresh;
  } catch (err) {
    const theirs = (err as NodeJS.ErrnoException).code === 'EEXIST' ? await readSecret(file) : null;
    if (theirs) return theirs;
    throw err;
  }
}

async function readSecret(file: string): Promise<string | null> {
  try {
    const s = (await readFile(file, 'utf8')).trim();
    if (s.length < 16) throw new Error(`${file}: too short to be a token secret; delete it to generate a new one`);
    return s;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
