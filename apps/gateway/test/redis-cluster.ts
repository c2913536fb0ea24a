import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

/**
 * A real Redis Cluster for tests: `masters` redis-server processes on free ports (and free cluster
 * bus ports, set explicitly because port + 10000 may not exist), joined with
 * `redis-cli --cluster create`, in a temp dir that `stop()` removes with the processes.
 */
export interface LocalRedisCluster {
  nodes: { host: string; port: number }[];
  /** `redis+cluster://…` for connectRedis / RedisBroker. */
  url: string;
  /** A plain connection to every master (CLIENT KILL and friends). */
  eachNode<T>(fn: (r: Redis) => Promise<T>): Promise<T[]>;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (bind 0, read it, close). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Polls `check` until it returns true; rejects with `what` after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function startRedisCluster(masters = 3): Promise<LocalRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-redis-cluster-'));
  const procs: ChildProcess[] = [];
  const ports: number[] = [];
  const clients: Redis[] = [];
  const stop = async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGKILL');
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Collect all ports first so no two nodes are handed the same one.
    const wanted = new Set<number>();
    while (wanted.size < masters * 2) wanted.add(await freePort());
    const all = [...wanted];
    for (let i = 0; i < masters; i++) {
      const port = all[2 * i]!;
      const busPort = all[2 * i + 1]!;
      ports.push(port);
      const conf: Record<string, string> = {
        port: String(port),
        'cluster-port': String(busPort),
        bind: '127.0.0.1',
        'cluster-enabled': 'yes',
        'cluster-config-file': join(dir, `nodes-${port}.conf`),
        save: '',
        appendonly: 'no',
        dir,
        logfile: join(dir, `redis-${port}.log`),
      };
      const args = Object.entries(conf).flatMap(([k, v]) => [`--${k}`, v]);
      const p = spawn('redis-server', args, { stdio: 'ignore' });
      p.once('error', () => {}); // surfaces as the readiness timeout below, with the port in it
      procs.push(p);
    }
    for (const port of ports) {
      const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
      r.on('error', () => {});
      clients.push(r);
      await until(`redis-server on ${port}`, async () => (await r.ping()) === 'PONG');
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const r of clients) {
      await until('cluster_state:ok', async () => (await r.cluster('INFO')).includes('cluster_state:ok'));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
  return {
    nodes,
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    eachNode: (fn) => Promise.all(clients.map(fn)),
    stop,
  };
}
