import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { chromiumPath } from './browser.ts';

/**
 * Once per run: fail at once (with the install command) when Chromium is missing, and build the
 * bundle the gateways serve (apps/web/dist) from the current sources.
 */
export default async function setup(): Promise<void> {
  chromiumPath();
  // Gateway processes with DATABASE_URL need a token secret (the gateway project's setup sets one
  // too; this makes the browser stories runnable on their own).
  process.env.PARLEY_JWT_SECRET ||= randomBytes(32).toString('hex');
  // A separate process: the production build (vitest's NODE_ENV=test would give React's dev build).
  execFileSync(process.execPath, [join(import.meta.dirname, '../../../node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: 'inherit',
  });
}
