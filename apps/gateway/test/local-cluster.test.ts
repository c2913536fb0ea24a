import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { decodeServer, Kind, Op, type ServerFrame, SUBPROTOCOL } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { provisionPostgres, provisionRedis } from './services.js';

/**
 * `infra/local-cluster`, the operator's no-Docker cluster: the real script, real gateways, real
 * HAProxy (from Debian; `.ci/run` installs it), real Postgres and Redis. Until the Redis adapters
 * land each gateway has its own in-process broker, so this checks the plumbing only: start-up,
 * the printed URLs, health and WebSockets through HAProxy, and a clean stop on SIGTERM.
 */

const SCRIPT = join(import.meta.dirname, '../../../infra/local-cluster');

interface Cluster {
  proc: ChildProcess;
  out: string[];
  exited: Promise<number | null>;
  lb: string;
  ws: string;
  gateways: { name: string; url: string; pid: number }[];
  haproxyPid: number;
  /** Where the script keeps its logs (it leaves them after stopping). */
  logDir: string;
}

function haproxyInstalled(): boolean {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Spawns the script; resolves once it printed its banner (everything is up), with what it printed. */
function startCluster(n: number, env: Record<string, string>): Promise<Cluster> {
  const baseEnv = { ...process.env };
  delete baseEnv.PARLEY_LB_PORT; // a free port, never a fixed one
  const proc = spawn(SCRIPT, [String(n)], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const exited = new Promise<number | null>((r) => proc.on('close', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        out.push(line);
        if (!line.startsWith('Press Ctrl-C')) continue;
        const text = out.join('\n');
        const lb = /^\s+LB:\s+(http:\/\/\S+)$/m.exec(text)?.[1];
        const ws = /^\s+WebSocket:\s+(ws:\/\/\S+)/m.exec(text)?.[1];
        const haproxyPid = Number(/^\s+HAProxy:\s+pid (\d+)/m.exec(text)?.[1]);
        const logDir = /logs in (\S+)$/m.exec(text)?.[1] ?? '';
        const gateways = [...text.matchAll(/^\s+(gw\d+):\s+(http:\/\/\S+)\s+\(pid (\d+)/gm)].map((m) => ({
          name: m[1] as string,
          url: m[2] as string,
          pid: Number(m[3]),
        }));
        if (!lb || !ws || !haproxyPid || !logDir) reject(new Error(`could not parse the script's banner:\n${text}`));
        else resolve({ proc, out, exited, lb, ws, gateways, haproxyPid, logDir });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`local-cluster exited with ${code} before it was up:\n${out.join('\n')}${buf}`)));
  });
}

/** GET on a fresh TCP connection (no keep-alive), so HAProxy balances every request. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves with the connect error code ('ECONNREFUSED' once nothing listens), or 'open'. */
function probe(url: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect({ host: u.hostname, port: Number(u.port) });
    s.once('connect', () => {
      s.destroy();
      resolve('open');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
  });
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

type HelloFrame = ServerFrame & { kind: typeof Kind.Event; op: typeof Op.Hello };

interface Socket {
  ws: WebSocket;
  frames: ServerFrame[];
  hello: Promise<HelloFrame>;
  closed: Promise<number>;
}

function openSocket(url: string): Promise<Socket> {
  const ws = new WebSocket(url, SUBPROTOCOL);
  const frames: ServerFrame[] = [];
  let onHello: (f: HelloFrame) => void = () => {};
  const hello = new Promise<HelloFrame>((r) => {
    onHello = r;
  });
  ws.on('message', (d: Buffer) => {
    const r = decodeServer(new Uint8Array(d));
    if (!r.ok) throw new Error(`undecodable frame: ${r.error}`);
    for (const f of r.value) {
      frames.push(f);
      if (f.kind === Kind.Event && f.op === Op.Hello) onHello(f);
    }
  });
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, frames, hello, closed }));
    ws.once('error', reject);
  });
}

describe('infra/local-cluster', () => {
  it('refuses to start without REDIS_URL and DATABASE_URL, and says how to set them', async () => {
    const env = { ...process.env };
    delete env.REDIS_URL;
    delete env.DATABASE_URL;
    const proc = spawn(SCRIPT, ['2'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toContain('REDIS_URL and DATABASE_URL not set');
    expect(err).toContain('REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgres://');
  });

  describe('two gateways behind HAProxy', () => {
    let cluster: Cluster | undefined;
    let pg: Awaited<ReturnType<typeof provisionPostgres>> | undefined;
    let redis: Awaited<ReturnType<typeof provisionRedis>> | undefined;
    const sockets: Socket[] = [];
    let stoppedCleanly = false;

    beforeAll(async () => {
      if (!haproxyInstalled()) {
        throw new Error('haproxy is not installed: apt-get install -y haproxy (.ci/run installs it when missing)');
      }
      pg = await provisionPostgres();
      redis = await provisionRedis();
      cluster = await startCluster(2, {
        DATABASE_URL: pg.url,
        REDIS_URL: redis.url,
        PARLEY_REDIS_PREFIX: redis.prefix,
        PARLEY_LOG_LEVEL: 'info',
      });
    }, 180_000);

    afterAll(async () => {
      for (const s of sockets) s.ws.terminate();
      // Only when a test failed half-way: stop what the script started, by pid.
      if (cluster && cluster.proc.exitCode === null && cluster.proc.signalCode === null) {
        cluster.proc.kill('SIGTERM');
        const t = setTimeout(() => cluster?.proc.kill('SIGKILL'), 30_000);
        await cluster.exited;
        clearTimeout(t);
      }
      for (const pid of [...(cluster?.gateways.map((g) => g.pid) ?? []), cluster?.haproxyPid ?? 0]) {
        if (pid && !processGone(pid)) process.kill(pid, 'SIGKILL');
      }
      // The logs stay for a post-mortem unless the cluster stopped as it should.
      if (stoppedCleanly && cluster?.logDir.includes('parley-cluster.')) await rm(cluster.logDir, { recursive: true, force: true });
      await pg?.drop();
      await redis?.cleanup();
    }, 60_000);

    it('prints the LB URL, the WebSocket URL and one URL per gateway', () => {
      const c = cluster as Cluster;
      expect(c.lb).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(c.ws).toBe(`${c.lb.replace('http:', 'ws:')}/ws`);
      expect(c.gateways.map((g) => g.name)).toEqual(['gw1', 'gw2']);
      expect(new Set([c.lb, ...c.gateways.map((g) => g.url)]).size).toBe(3);
    });

    it('answers /healthz and /readyz through HAProxy, and balances over both gateways', async () => {
      const c = cluster as Cluster;
      expect(await get(`${c.lb}/healthz`)).toMatchObject({ status: 200 });
      expect(await get(`${c.lb}/readyz`)).toMatchObject({ status: 200, body: 'ready\n' });
      for (const g of c.gateways) expect(await get(`${g.url}/readyz`)).toMatchObject({ status: 200 });
      // The web client is served through the load balancer (deep links fall back to the page).
      expect((await get(`${c.lb}/c/general`)).body).toContain('<div id="root">');
      // Every request is a new connection, so HAProxy picks anew.
      const seen = new Set<string>();
      for (let i = 0; i < 8 && seen.size < 2; i++) {
        // `/` is the web client now; every metric is labelled with the node that answered.
        seen.add(/node="(gw\d+)"/.exec((await get(`${c.lb}/metrics`)).body)?.[1] ?? '?');
      }
      expect([...seen].sort()).toEqual(['gw1', 'gw2']);
    });

    it('tunnels WebSockets (parley.v1): a guest gets Hello; leastconn puts the second socket on the other node', async () => {
      const c = cluster as Cluster;
      const a = await openSocket(`${c.ws}?guest=lc-guest-a`);
      sockets.push(a);
      const helloA = await a.hello;
      expect(helloA).toMatchObject({ kind: Kind.Event, op: Op.Hello, user: 'lc-guest-a', guest: true });
      const b = await openSocket(`${c.ws}?guest=lc-guest-b`);
      sockets.push(b);
      const helloB = await b.hello;
      expect(helloB).toMatchObject({ user: 'lc-guest-b', guest: true });
      expect([helloA.node, helloB.node].sort()).toEqual(['gw1', 'gw2']);
    });

    it('SIGTERM drains the gateways (clients are told to reconnect, through HAProxy), then stops everything', async () => {
      const c = cluster as Cluster;
      expect(sockets).toHaveLength(2);
      c.proc.kill('SIGTERM');
      expect(await c.exited).toBe(0);
      // The drain happened before HAProxy went away: each socket got its Reconnect hint through it.
      for (const s of sockets) {
        await s.closed;
        expect(s.frames.some((f) => f.kind === Kind.Event && f.op === Op.Reconnect)).toBe(true);
      }
      expect(c.out.join('\n')).toContain('stopped; logs kept in');
      for (const pid of [...c.gateways.map((g) => g.pid), c.haproxyPid]) expect(processGone(pid)).toBe(true);
      for (const url of [c.lb, ...c.gateways.map((g) => g.url)]) expect(await probe(url)).toBe('ECONNREFUSED');
      stoppedCleanly = true;
    }, 60_000);
  });
});
