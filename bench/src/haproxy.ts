import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HAPROXY_CFG = join(import.meta.dirname, '..', '..', 'infra', 'haproxy', 'haproxy.cfg');

export interface Haproxy {
  pid: number;
  /** The frontend, http://127.0.0.1:port (HTTP and the WebSocket upgrade on /ws). */
  url: string;
  /** The stats frontend's rows (`/stats;csv`): one per frontend, backend and server. */
  stats(): Promise<Record<string, string>[]>;
  /** HAProxy's own log lines (stdout/stderr), the most recent last. */
  log(): string[];
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const addr = srv.address();
  await new Promise((r) => srv.close(r));
  return typeof addr === 'object' && addr ? addr.port : 0;
}

/**
 * A real HAProxy in front of `servers`, with the repo's infra/haproxy/haproxy.cfg (balancing,
 * health checks, timeouts) plus a second file listing the servers, as infra/local-cluster does.
 * Resolves once every server is UP in HAProxy's health checks. It inherits this process's fd
 * limit, from which it derives its connection limit (2 fds per proxied WebSocket).
 */
export async function startHaproxy(servers: { name: string; port: number }[]): Promise<Haproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-haproxy-'));
  const serversCfg = join(dir, 'servers.cfg');
  await writeFile(serversCfg, ['backend gateways', ...servers.map((s) => `    server ${s.name} 127.0.0.1:${s.port}`), ''].join('\n'));
  const [port, statsPort] = [await freePort(), await freePort()];
  const proc = spawn('haproxy', ['-db', '-f', HAPROXY_CFG, '-f', serversCfg], {
    env: { ...process.env, PARLEY_LB_BIND: `127.0.0.1:${port}`, PARLEY_LB_STATS_BIND: `127.0.0.1:${statsPort}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawnError = new Promise<Error>((resolve) => proc.once('error', resolve));
  const orphanGuard = () => proc.kill('SIGKILL');
  process.once('exit', orphanGuard);
  const lines: string[] = [];
  const onData = (d: Buffer) => {
    lines.push(...d.toString().split('\n').filter(Boolean));
    if (lines.length > 2000) lines.splice(0, lines.length - 1000);
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));

  const stats = async () => {
    const csv = await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text();
    const [header = '', ...rows] = csv.split('\n').filter(Boolean);
    const cols = header.replace(/^# /, '').split(',');
    return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i] ?? String(i), v])));
  };
  const stop = async () => {
    process.off('exit', orphanGuard);
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 15_000;
  const missing = await Promise.race([spawnError, new Promise<null>((r) => setTimeout(() => r(null), 50))]);
  if (missing) {
    process.off('exit', orphanGuard);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`cannot start haproxy (${missing.message}): install it, e.g. \`apt-get install haproxy\` (.ci/run does)`);
  }
  for (;;) {
    if (proc.exitCode !== null) {
      await stop();
      throw new Error(`haproxy exited (${proc.exitCode}):\n${lines.slice(-20).join('\n')}`);
    }
    const up = await stats().then(
      (rows) => rows.filter((r) => r.pxname === 'gateways' && r.svname !== 'BACKEND' && r.status === 'UP').length,
      () => 0,
    );
    if (up === servers.length) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`haproxy: ${up}/${servers.length} servers UP after 15 s:\n${lines.slice(-20).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: proc.pid ?? 0, url: `http://127.0.0.1:${port}`, stats, log: () => [...lines], stop };
}
