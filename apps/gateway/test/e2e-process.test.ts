import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParleyClient } from '@parley/client';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';

const GATEWAY_DIR = join(import.meta.dirname, '..');
/** The bundle `npm start` builds and runs (scripts/build.mjs), built by this file into a directory of its own. */
const BUNDLE = `.dist-test-${process.pid}`;
let built = false;

/** Starts the real entry point (what `npm start` runs) and resolves with its port from the log. */
function startServer(env: Record<string, string>, unset: string[] = []): Promise<{ proc: ChildProcess; url: string; logs: string[] }> {
  const all: Record<string, string | undefined> = { ...process.env, PARLEY_PORT: '0', PARLEY_HOST: '127.0.0.1', ...env };
  for (const k of unset) delete all[k];
  if (!built) execFileSync(process.execPath, ['scripts/build.mjs', BUNDLE], { cwd: GATEWAY_DIR, stdio: 'inherit' });
  built = true;
  const proc = spawn(process.execPath, [join(BUNDLE, 'main.js')], {
    cwd: GATEWAY_DIR,
    env: all,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    const onLine = (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        logs.push(line);
        const port = /"port":(\d+)/.exec(line)?.[1];
        if (port && line.includes('gateway listening')) resolve({ proc, url: `http://127.0.0.1:${port}`, logs });
      }
    };
    proc.stdout?.on('data', onLine);
    proc.stderr?.on('data', onLine);
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${logs.join('\n')}`)));
  });
}

const exited = (p: ChildProcess) => new Promise<number | null>((r) => p.on('exit', (code) => r(code)));

describe('the server process (npm start) on embedded defaults', () => {
  let dir = '';
  const procs: ChildProcess[] = [];
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await rm(join(GATEWAY_DIR, BUNDLE), { recursive: true, force: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('two SDK clients chat; SIGTERM drains and exits 0; history survives the restart', async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-proc-'));
    const env = { PARLEY_DATA_DIR: dir };
    const first = await startServer(env);
    procs.push(first.proc);
    expect(first.logs.join('\n')).toContain('"native":true');
    // Which build runs, once at startup: package, its version, the uWS release, Node and its ABI.
    expect(first.logs.join('\n')).toMatch(
      /"uws":\{"package":"@(btc-vision\/uwebsockets\.js|trufflesuite\/uws-js-unofficial)","version":"20\.[^"]+","uws":"v20\.\d+\.\d+","node":"v\d+\.\d+\.\d+","abi":"\d+","native":true\}.*"msg":"uWebSockets.js loaded"/,
    );
    const alice = new ParleyClient({ url: first.url, guestName: 'alice-guest' });
    const bobToken = await signup(first.url, 'bob');
    const bob = new ParleyClient({ url: first.url, token: bobToken, reconnect: false });
    await alice.connect();
    await bob.connect();
    // A fresh server has the default channel (PARLEY_DEFAULT_CHANNELS), which a guest may join.
    expect((await bob.list()).map((c) => c.name)).toEqual(['general']);
    await bob.join('general');
    await alice.join('general');
    const heard = new Promise((r) => bob.on('message', (m) => m.user === 'alice-guest' && r(m.text)));
    await alice.send('general', 'hi bob');
    await bob.send('general', 'hi alice');
    expect(await heard).toBe('hi bob');
    const metrics = await (await fetch(`${first.url}/metrics`)).text();
    expect(metrics).toContain('parley_uws_native{node=');
    expect(metrics).toMatch(
      /parley_uws_build_info\{package="@[^"]+",version="20\.[^"]+",uws="v20\.\d+\.\d+",node_version="v\d+[^"]*",abi="\d+",native="true",node="[^"]+"\} 1\n/,
    );
    // The loop delay without the sampling interval in it (prom-client's own gauges read ~1 s here).
    const loopP99 = Number(/^parley_event_loop_delay_p99_seconds\{[^}]*\} (\S+)$/m.exec(metrics)?.[1]);
    expect(loopP99).toBeGreaterThanOrEqual(0);
    expect(loopP99).toBeLessThan(0.5);
    expect(metrics).not.toContain('nodejs_eventloop_lag_p99_seconds');
    expect(metrics).toMatch(/parley_allocator_info\{allocator="(jemalloc|system)",node="[^"]+"\} 1\n/);
    expect(metrics).toMatch(/parley_connections\{[^}]*\} 2/);
    // Two sends, each answered, and each fanned out to the channel's 2 members.
    expect(metrics).toMatch(/parley_frames_in_total\{op="Message",node="[^"]+"\} 2\n/);
    expect(metrics).toMatch(/parley_frames_out_total\{kind="durable",node="[^"]+"\} 4\n/);
    alice.close();
    bob.close();
    const code = exited(first.proc);
    first.proc.kill('SIGTERM');
    expect(await code).toBe(0);
    expect(first.logs.join('\n')).not.toContain(bobToken); // no tokens in logs

    const second = await startServer(env);
    procs.push(second.proc);
    const again = new ParleyClient({ url: second.url, token: bobToken, reconnect: false });
    await again.connect();
    await again.join('general');
    const h = await again.history('general', { limit: 10 });
    expect(h.messages.map((m) => `${m.user}: ${m.text}`)).toEqual(['alice-guest: hi bob', 'bob: hi alice']);
    again.close();
    second.proc.kill('SIGTERM');
    expect(await exited(second.proc)).toBe(0);
  });

  it('refuses to start on the uWebSockets.js JS fallback, with a clear message', async () => {
    const err = await startServer({ UWS_USE_FALLBACK: '1', PARLEY_DATA_DIR: 'memory://' }).catch((e: Error) => e);
    expect(String(err)).toMatch(/FALLBACK/);
    // …naming both builds and what each needs.
    expect(String(err)).toMatch(/@btc-vision\/uwebsockets\.js[\s\S]*needs Node 20, 22, 24 or 25[\s\S]*@trufflesuite\/uws-js-unofficial/);
    expect(String(err)).toMatch(/exited with 1/);
  });

  it('embedded without PARLEY_JWT_SECRET: a random secret generated once and kept in the data directory, never a public default', async () => {
    const own = await mkdtemp(join(tmpdir(), 'parley-secret-'));
    try {
      const noSecret = ['PARLEY_JWT_SECRET', 'DATABASE_URL', 'NODE_ENV'];
      const first = await startServer({ PARLEY_DATA_DIR: own }, noSecret);
      procs.push(first.proc);
      const token = await signup(first.url, 'keeper');
      // A token forged with the secret earlier versions shipped as their default is refused.
      const forged = await new SignJWT({ name: 'keeper' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(JSON.parse(atob(token.split('.')[1] ?? '')).sub)
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode('parley-dev-secret-change-me'));
      const refused = await new ParleyClient({ url: first.url, token: forged, reconnect: false }).connect().catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 4001 });
      const code = exited(first.proc);
      first.proc.kill('SIGTERM');
      expect(await code).toBe(0);
      const file = await stat(join(own, 'jwt-secret'));
      expect(file.mode & 0o777).toBe(0o600);
      expect((await readFile(join(own, 'jwt-secret'), 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
      // Restarted: the same secret, so the token issued before still works.
      const second = await startServer({ PARLEY_DATA_DIR: own }, noSecret);
      procs.push(second.proc);
      const c = new ParleyClient({ url: second.url, token, reconnect: false });
      expect(await c.connect()).toMatchObject({ user: 'keeper', guest: false });
      c.close();
      second.proc.kill('SIGKILL');
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  }, 120_000);

  it('with DATABASE_URL and no PARLEY_JWT_SECRET (or a published one) it refuses to start', async () => {
    const db = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/never' };
    const missing = await startServer(db, ['PARLEY_JWT_SECRET']).catch((e: Error) => e);
    expect(String(missing)).toMatch(/exited with 2/);
    expect(String(missing)).toContain('PARLEY_JWT_SECRET: required with DATABASE_URL');
    const published = await startServer({ ...db, PARLEY_JWT_SECRET: 'compose-only-secret-change-me-0123456789' }).catch((e: Error) => e);
    expect(String(published)).toMatch(/exited with 2/);
    expect(String(published)).toContain('published as an example');
  }, 60_000);

  it('reports every configuration problem at once', async () => {
    const err = await startServer({ PARLEY_PORT: 'abc', PARLEY_RATE_PER_S: '-3', PARLEY_LOG_LEVEL: 'loud' }).catch((e: Error) => e);
    const text = String(err);
    expect(text).toMatch(/exited with 2/);
    for (const v of ['PARLEY_PORT', 'PARLEY_RATE_PER_S', 'PARLEY_LOG_LEVEL']) expect(text).toContain(v);
  });
});

async function signup(url: string, username: string): Promise<string> {
  const res = await fetch(`${url}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'a long enough password' }),
  });
  return ((await res.json()) as { accessToken: string }).accessToken;
}
