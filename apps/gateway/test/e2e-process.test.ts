import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParleyClient } from '@parley/client';
import { afterAll, describe, expect, it } from 'vitest';

/** Starts the real entry point (what `npm start` runs) and resolves with its port from the log. */
function startServer(env: Record<string, string>): Promise<{ proc: ChildProcess; url: string; logs: string[] }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, PARLEY_PORT: '0', PARLEY_HOST: '127.0.0.1', ...env },
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
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('two SDK clients chat; SIGTERM drains and exits 0; history survives the restart', async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-proc-'));
    const env = { PARLEY_DATA_DIR: dir };
    const first = await startServer(env);
    procs.push(first.proc);
    expect(first.logs.join('\n')).toContain('"native":true');
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
    expect(String(err)).toMatch(/exited with 1/);
  });

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
