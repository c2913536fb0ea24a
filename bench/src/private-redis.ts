import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface PrivateRedis {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound then released; the tiny race is fine for a bench). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A fresh redis-server of its own for one trial: the machine's shared Redis also serves other
 * work, so its CPU could not be charged to the system under test, and a fresh process per trial
 * is what "fresh processes each time" means for Redis too. No persistence (as a pub/sub + window
 * cache in a bench); the same binary as the shared one.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const orphanGuard = () => proc.kill('SIGKILL');
  process.once('exit', orphanGuard);
  proc.once('exit', () => process.off('exit', orphanGuard));
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (d: Buffer) => {
      log += d.toString();
      if (log.includes('Ready to accept connections')) resolve();
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${log.slice(-500)}`)));
    proc.once('error', reject);
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: proc.pid ?? 0,
    stop: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return r();
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        proc.once('exit', () => {
          clearTimeout(t);
          r();
        });
        proc.kill('SIGTERM');
      }),
  };
}
