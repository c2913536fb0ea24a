import { randomBytes } from 'node:crypto';
import { findPostgres, findRedis, type Service } from './services.js';

/**
 * Runs once per `vitest run`, before the workers start. Its main job: when discovery ends in a
 * testcontainers container, start ONE of each per run and hand the URL to every worker through
 * DATABASE_URL / REDIS_URL (workers inherit this env) instead of a container per worker.
 * When nothing is available it does not fail here: unit tests need no services, and each
 * integration test throws the explanatory error from services.ts itself.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const started: Service[] = [];
  for (const [key, find] of [
    ['DATABASE_URL', findPostgres],
    ['REDIS_URL', findRedis],
  ] as const) {
    if (process.env[key]) continue;
    const s = await find().catch(() => null);
    if (s?.stop) {
      started.push(s);
      process.env[key] = s.url;
    }
  }
  // Gateway processes the tests start (proc-cluster, e2e-process, local-cluster) use Postgres,
  // which requires a token secret; one per run, shared, as nodes of one deployment share theirs.
  process.env.PARLEY_JWT_SECRET ||= randomBytes(32).toString('hex');
  return async () => {
    for (const s of started) await s.stop?.();
  };
}
