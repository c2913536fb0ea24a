import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { UwsInfo } from '@parley/gateway/uws';
import { noteUws } from '../uws-build.js';

export interface Peer {
  proc: ChildProcess;
  pid: number;
  port: number;
  url: string;
  /** The uWebSockets.js build a uWS peer runs (from its ready line); undefined for the others. */
  uws: UwsInfo | undefined;
  stop(): Promise<void>;
}

/**
 * Starts a peer server (`bench/src/peers/<file>`) as its own Node process and waits for its ready
 * line: one JSON line on stdout, `{"ready":true,"port":N}` (uWS peers add `uws`, the build they run). The peers refuse to start on uWS's JS
 * fallback (they print an error and exit 1), which rejects here.
 */
export function startPeer(file: string, args: string[], env: Record<string, string> = {}): Promise<Peer> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, file), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        logs.push(line);
        if (!line.startsWith('{"ready":true')) continue;
        const ready = JSON.parse(line) as { port: number; uws?: UwsInfo };
        const port = Number(ready.port);
        if (ready.uws) noteUws(file, ready.uws);
        resolve({
          proc,
          pid: proc.pid ?? 0,
          port,
          url: `http://127.0.0.1:${port}`,
          uws: ready.uws,
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
        });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`${file} exited (${code}):\n${logs.slice(-20).join('\n')}`)));
  });
}
