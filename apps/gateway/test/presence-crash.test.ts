import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { ParleyClient, type PresenceEntry } from '@parley/client';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayProc } from './proc-cluster.js';
import { freePort, until } from './redis-cluster.js';
import { provisionPostgres, provisionRedis } from './services.js';

/**
 * Presence after the two operational events of issue 10, with real gateway PROCESSES, kill -9 and
 * a real Redis restart: every user who vanished gets exactly one leave within 15 s, nobody who is
 * still connected gets one, and nobody who never left is announced joining again.
 */

const tcpOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });

const FAST = { PARLEY_RATE_PER_S: '10000', PARLEY_RATE_BURST: '10000', PARLEY_LOG_LEVEL: 'info' };

interface Watch {
  leaves: string[];
  joins: string[];
  states: PresenceEntry[][];
}

describe('presence after crashes (processes)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanups.splice(0).reverse()) await f();
  });

  const client = (url: string, opts: { guestName?: string; token?: string; reconnect?: false }) => {
    const c = new ParleyClient({ url, reconnect: { minMs: 50, maxMs: 300 }, ...opts });
    cleanups.push(() => c.close());
    return c;
  };
  const signup = async (url: string, username: string) => {
    const res = await fetch(`${url}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'a long enough password' }),
    });
    return ((await res.json()) as { accessToken: string }).accessToken;
  };
  const watch = (c: ParleyClient, channel: string): Watch => {
    const w: Watch = { leaves: [], joins: [], states: [] };
    c.on('presence', (p) => {
      if (p.channel !== channel) return;
      if (p.type === 'diff') {
        w.leaves.push(...p.leaves);
        w.joins.push(...p.joins.map((j) => j.user));
      } else w.states.push(p.members);
    });
    return w;
  };
  const online = async (c: ParleyClient, channel: string) =>
    (await c.members(channel))
      .filter((m) => m.online)
      .map((m) => m.user)
      .sort();
  const gateway = async (name: string, env: Record<string, string>) => {
    const g = new GatewayProc(name, await freePort(), { ...FAST, ...env });
    cleanups.push(() => void g.stop('SIGKILL'));
    await g.start();
    return g;
  };

  it('item 11: a gateway killed -9 and restarted at once under the same node id: one leave per user who did not come back, none for the others', async () => {
    const pg = await provisionPostgres();
    const redis = await provisionRedis();
    cleanups.push(pg.drop, redis.cleanup);
    const env = { DATABASE_URL: pg.url, REDIS_URL: redis.url, PARLEY_REDIS_PREFIX: redis.prefix };
    const [gw1, gw2] = [await gateway('gw1', env), await gateway('gw2', env)];

    const owner = client(gw2.url, { token: await signup(gw2.url, 'i11-owner') });
    await owner.connect();
    await owner.create('i11');
    await owner.join('i11');
    const observer = client(gw2.url, { guestName: 'i11-observer' });
    await observer.connect();
    await observer.join('i11');
    // On gw1: two users who will not come back, one who reconnects to gw1 (its new life), one with
    // a second tab on gw2.
    const people: Record<string, ParleyClient> = {
      'i11-gone-1': client(gw1.url, { guestName: 'i11-gone-1', reconnect: false }),
      'i11-gone-2': client(gw1.url, { guestName: 'i11-gone-2', reconnect: false }),
      'i11-back': client(gw1.url, { guestName: 'i11-back' }),
    };
    // A registered user (one account, two sockets: guests' names are one socket's each).
    const dualToken = await signup(gw2.url, 'i11-dual');
    people['i11-dual'] = client(gw1.url, { token: dualToken, reconnect: false });
    const dualTab = client(gw2.url, { token: dualToken });
    for (const c of [...Object.values(people), dualTab]) {
      await c.connect();
      await c.join('i11');
    }
    const everyone = ['i11-back', 'i11-dual', 'i11-gone-1', 'i11-gone-2', 'i11-observer', 'i11-owner'];
    await expect.poll(() => online(observer, 'i11')).toEqual(everyone);
    const w = watch(observer, 'i11');
    const backRejoined = new Promise<void>((r) =>
      people['i11-back']!.on('presence', (p) => p.type === 'state' && p.channel === 'i11' && r()),
    );

    const killedAt = Date.now();
    await gw1.stop('SIGKILL');
    await gw1.start(); // at once, same PARLEY_NODE_ID (what compose's restart policy does)
    await backRejoined;
    await expect
      .poll(() => [...w.leaves].sort(), { timeout: 15_000 - (Date.now() - killedAt), interval: 100 })
      .toEqual(['i11-gone-1', 'i11-gone-2']);
    const convergedMs = Date.now() - killedAt;
    const stayed = ['i11-back', 'i11-dual', 'i11-observer', 'i11-owner'];
    expect(await online(observer, 'i11')).toEqual(stayed);
    // Nothing more comes: no second leave, no leave or join for those who stayed, however long we wait
    // (past the old lease's TTL and a heartbeat: nothing of the previous life is left to reap).
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + 14_000 - Date.now())));
    await owner.send('i11', 'sync'); // anything in flight before this arrives before its echo
    expect([...w.leaves].sort()).toEqual(['i11-gone-1', 'i11-gone-2']);
    expect(w.joins).toEqual([]);
    expect(await online(observer, 'i11')).toEqual(stayed);
    console.log(`item 11: presence converged ${convergedMs} ms after kill -9 + immediate restart`);
  }, 120_000);

  it('item 12: Redis restarted without persistence: live users stay online, later and outage-time leaves come once, no spurious joins', async () => {
    const pg = await provisionPostgres();
    cleanups.push(pg.drop);
    const port = await freePort();
    let redis: ChildProcess | null = null;
    const startRedis = async () => {
      redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], {
        stdio: 'ignore',
      });
      await until('redis up', () => tcpOpen(port), 10_000, 50);
    };
    await startRedis();
    cleanups.push(() => void redis?.kill('SIGKILL'));
    const env = { DATABASE_URL: pg.url, REDIS_URL: `redis://127.0.0.1:${port}` };
    const [gw1, gw2] = [await gateway('r1', env), await gateway('r2', env)];

    const owner = client(gw2.url, { token: await signup(gw2.url, 'i12-owner') });
    await owner.connect();
    await owner.create('i12');
    await owner.join('i12');
    const observer = client(gw1.url, { guestName: 'i12-observer' });
    await observer.connect();
    await observer.join('i12');
    const on1 = (name: string, reconnect = true) =>
      client(gw1.url, reconnect ? { guestName: name } : { guestName: name, reconnect: false });
    const on2 = (name: string, reconnect = true) =>
      client(gw2.url, reconnect ? { guestName: name } : { guestName: name, reconnect: false });
    const dualToken = await signup(gw2.url, 'i12-dual');
    const people = {
      stay1: on1('i12-stay-1'),
      stay2: on2('i12-stay-2'),
      during: on1('i12-during', false), // leaves while Redis is down
      later: on2('i12-later', false), // leaves after Redis is back
      dual1: client(gw1.url, { token: dualToken, reconnect: false }), // closes one tab after Redis is back
      dual2: client(gw2.url, { token: dualToken }), // the other stays
    };
    for (const c of Object.values(people)) {
      await c.connect();
      await c.join('i12');
    }
    const all = ['i12-dual', 'i12-during', 'i12-later', 'i12-observer', 'i12-owner', 'i12-stay-1', 'i12-stay-2'];
    await expect.poll(() => online(observer, 'i12')).toEqual(all);
    const w = watch(observer, 'i12');

    const ready = (url: string) =>
      fetch(`${url}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
    redis!.kill('SIGKILL');
    for (const g of [gw1, gw2]) await expect.poll(() => ready(g.url), { timeout: 10_000 }).toBe(503);
    people.during.close();
    await new Promise((r) => setTimeout(r, 500));
    await startRedis(); // empty: no persistence
    const backAt = Date.now();
    for (const g of [gw1, gw2]) await expect.poll(() => ready(g.url), { timeout: 15_000 }).toBe(200);
    // Everyone still connected is online again without reconnecting (re-asserted by their nodes).
    const live = ['i12-dual', 'i12-later', 'i12-observer', 'i12-owner', 'i12-stay-1', 'i12-stay-2'];
    await expect
      .poll(async () => (await online(observer, 'i12')).filter((u) => u !== 'i12-during'), { timeout: 8_000, interval: 200 })
      .toEqual(live);
    const reassertedMs = Date.now() - backAt;
    // Leaves after the restart: exactly one for the user who goes, none for a closed second tab.
    people.later.close();
    people.dual1.close();
    const closedAt = Date.now();
    await expect.poll(() => [...w.leaves].sort(), { timeout: 15_000, interval: 100 }).toEqual(['i12-during', 'i12-later']);
    const leftMs = Date.now() - closedAt;
    expect(Date.now() - backAt).toBeLessThan(15_000 + reassertedMs); // the outage-time leave too
    const stayed = ['i12-dual', 'i12-observer', 'i12-owner', 'i12-stay-1', 'i12-stay-2'];
    expect(await online(observer, 'i12')).toEqual(stayed);
    // Settled: no second leave, no join for anyone who never left, and the view sent once the loss
    // settled (a whole-state refresh, not join/leave events) holds exactly who is here.
    await new Promise((r) => setTimeout(r, 3000));
    await owner.send('i12', 'sync');
    await expect.poll(() => w.states.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(w.states.at(-1)!.map((m) => m.user)).not.toContain('i12-during');
    expect([...w.leaves].sort()).toEqual(['i12-during', 'i12-later']);
    expect(w.joins).toEqual([]);
    expect(await online(observer, 'i12')).toEqual(stayed);
    console.log(`item 12: presence re-asserted ${reassertedMs} ms after Redis came back; leaves ${leftMs} ms after the close`);
  }, 120_000);
});
