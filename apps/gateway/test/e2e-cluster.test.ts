import { type ChildProcess, spawn } from 'node:child_process';
import type { ParleyClient } from '@parley/client';
import { ErrorCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/gateway.js';
import { next, World } from './harness.js';
import { freePort, type LocalRedisCluster, startRedisCluster, until } from './redis-cluster.js';
import { TcpProxy } from './tcp-proxy.js';

const FAST = { PARLEY_RATE_PER_S: '10000', PARLEY_RATE_BURST: '10000' };

/**
 * Runs `fn` while node `gw` hears no control message (as if the broker were slow to deliver it),
 * then applies what it held, in order. Resolves with how many it held.
 */
async function deafToControl(gw: Gateway, fn: () => Promise<void>): Promise<number> {
  const chat = gw.chat as unknown as { applyControl: (bytes: Uint8Array) => void };
  const apply = chat.applyControl;
  const held: Uint8Array[] = [];
  chat.applyControl = (bytes) => void held.push(bytes);
  try {
    await fn();
  } finally {
    chat.applyControl = apply;
    for (const bytes of held) apply.call(chat, bytes);
  }
  return held.length;
}

// Three gateway nodes in one process, sharing real Redis (broker, presence, recent window) and
// real Postgres: the cluster code paths without process management. Process-level stories
// (HAProxy, kill -9) are in cluster-processes.test.ts.
describe('cluster over real Redis and Postgres (in-process nodes)', () => {
  let world: World;
  let nodes: Gateway[];
  beforeAll(async () => {
    world = await (await World.create('postgres')).withRedis();
    nodes = [await world.start(FAST), await world.start(FAST), await world.start(FAST)];
  });
  afterAll(() => world.close());

  it('story 1: 30 clients, mixed registered and guests, 3 channels, 3 nodes: every message once, in order', async () => {
    const owner = await world.user(nodes[0]!, 'story1-owner');
    for (const ch of ['s1-a', 's1-b', 's1-c']) await owner.create(ch);
    const clients: { c: ParleyClient; ch: string; got: string[] }[] = [];
    for (let i = 0; i < 30; i++) {
      const gw = nodes[i % 3]!;
      const c = i % 2 ? await world.client(gw, { guestName: `s1-guest-${i}` }) : await world.user(gw, `s1-user-${i}`);
      const ch = ['s1-a', 's1-b', 's1-c'][i % 3]!;
      await c.join(ch);
      const got: string[] = [];
      c.on('message', (m) => m.channel === ch && got.push(`${m.seq}:${m.text}`));
      clients.push({ c, ch, got });
    }
    const sent = new Map<string, string[]>();
    await Promise.all(
      clients.map(async ({ c, ch }, i) => {
        for (let k = 0; k < 5; k++) {
          const text = `from ${i} #${k}`;
          const { seq } = await c.send(ch, text);
          const list = sent.get(ch) ?? [];
          list.push(`${seq}:${text}`);
          sent.set(ch, list);
        }
      }),
    );
    for (const list of sent.values()) list.sort((a, b) => Number(a.split(':')[0]) - Number(b.split(':')[0]));
    for (const { ch, got } of clients) {
      await expect.poll(() => got.length, { timeout: 10_000 }).toBe(50);
      expect(got).toEqual(sent.get(ch));
    }
  });

  it('story 4: a moderator on node A mutes a user on node B for 2 s with a reason', async () => {
    const mod = await world.user(nodes[0]!, 's4-mod');
    const target = await world.user(nodes[1]!, 's4-target');
    await mod.create('s4');
    await mod.join('s4');
    await target.join('s4');
    const t0 = Date.now();
    await mod.command('s4', '/mute s4-target 2s spamming');
    const err = await target.send('s4', 'can I talk?').catch((e) => e);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err).toMatchObject({ code: 203 });
    expect(err.message).toContain('spamming');
    await expect
      .poll(
        () =>
          target.send('s4', 'back').then(
            () => true,
            () => false,
          ),
        { timeout: 6000, interval: 200 },
      )
      .toBe(true);
    const audit = (await world.auditLog(nodes[0]!)).find((a) => a.target === 's4-target' && a.action === 'mute');
    expect(audit).toMatchObject({ actor: 's4-mod', reason: 'spamming', durationMs: 2000 });
  });

  it("the send fence: once /mute, /kick or /ban is acknowledged, no node commits that user's next message, even before its control message arrives", async () => {
    const mod = await world.user(nodes[0]!, 'fence-mod');
    const muted = await world.user(nodes[1]!, 'fence-muted');
    const kicked = await world.user(nodes[1]!, 'fence-kicked');
    const banned = await world.user(nodes[1]!, 'fence-banned');
    const bystander = await world.user(nodes[1]!, 'fence-by');
    await mod.create('fence');
    for (const c of [mod, muted, kicked, banned, bystander]) await c.join('fence');
    for (const c of [muted, kicked, banned, bystander]) await c.send('fence', `${c.user!.user} before`);
    const held = await deafToControl(nodes[1]!, async () => {
      await mod.command('fence', '/mute fence-muted 1m be quiet');
      await mod.command('fence', '/kick fence-kicked');
      await mod.command('fence', '/ban fence-banned 1m bye');
      const [m, k, b, ok] = await Promise.all([
        muted.send('fence', 'muted after').catch((e) => e),
        kicked.send('fence', 'kicked after').catch((e) => e),
        banned.send('fence', 'banned after').catch((e) => e),
        bystander.send('fence', 'bystander after'),
      ]);
      expect(m).toMatchObject({ code: 203 });
      expect(m.message).toContain('be quiet');
      expect(k).toMatchObject({ code: 202 });
      expect(b).toMatchObject({ code: 204 });
      expect(b.message).toContain('bye');
      expect(ok.seq).toBeGreaterThan(0);
    });
    expect(held).toBeGreaterThan(0); // node B had heard none of it
    const h = await mod.history('fence', { limit: 20 });
    expect(h.messages.map((x) => x.text)).toEqual([
      'fence-muted before',
      'fence-kicked before',
      'fence-banned before',
      'fence-by before',
      'bystander after',
    ]);
    const metrics = await (await fetch(`${nodes[1]!.url}/metrics`)).text();
    expect(metrics).toMatch(/parley_send_fence_rechecks_total\{[^}]*\} [1-9]/);
  });

  it('the fence holds for reactions too: after /mute or /kick is acknowledged, that user cannot react (or unreact) on a node that has not heard', async () => {
    const mod = await world.user(nodes[0]!, 'rfence-mod');
    const muted = await world.user(nodes[1]!, 'rfence-muted');
    const kicked = await world.user(nodes[1]!, 'rfence-kicked');
    const bystander = await world.user(nodes[1]!, 'rfence-by');
    await mod.create('rfence');
    for (const c of [mod, muted, kicked, bystander]) await c.join('rfence');
    const { seq } = await mod.send('rfence', 'react to me');
    await muted.react('rfence', seq, '👍'); // before: allowed, and kept
    const held = await deafToControl(nodes[1]!, async () => {
      await mod.command('rfence', '/mute rfence-muted 1m no emoji either');
      await mod.command('rfence', '/kick rfence-kicked');
      const [m, u, k] = await Promise.all([
        muted.react('rfence', seq, '🎉').catch((e) => e),
        muted.unreact('rfence', seq, '👍').catch((e) => e),
        kicked.react('rfence', seq, '🎉').catch((e) => e),
      ]);
      expect(m).toMatchObject({ code: ErrorCode.Muted });
      expect(m.message).toContain('no emoji either');
      expect(u).toMatchObject({ code: ErrorCode.Muted });
      expect(k).toMatchObject({ code: ErrorCode.NotMember });
      await bystander.react('rfence', seq, '🎉');
    });
    expect(held).toBeGreaterThan(0); // node B had heard none of it
    const [msg] = (await mod.history('rfence', { limit: 1 })).messages;
    expect(msg?.reactions).toEqual([
      { emoji: '👍', users: ['rfence-muted'] },
      { emoji: '🎉', users: ['rfence-by'] },
    ]);
  });

  it("a leave on node A takes the user's tabs on nodes B and C out of the channel, and tells them", async () => {
    const owner = await world.user(nodes[0]!, 'tabs-owner');
    await owner.create('tabs-x');
    await owner.join('tabs-x');
    const token = await world.signup(nodes[0]!, 'tabs-user');
    const tabs = await Promise.all(nodes.map((gw) => world.client(gw, { token })));
    for (const t of tabs) await t.join('tabs-x');
    const told = tabs.slice(1).map((t) => next(t, 'left'));
    await tabs[0]!.leave('tabs-x');
    expect(await Promise.all(told)).toEqual([{ channel: 'tabs-x' }, { channel: 'tabs-x' }]);
    await expect(tabs[2]!.send('tabs-x', 'still in?')).rejects.toMatchObject({ code: ErrorCode.NotMember });
    expect((await owner.members('tabs-x')).map((m) => m.user)).toEqual(['tabs-owner']);
  });

  it('story 6: three users on three nodes react; everyone sees who reacted; history keeps it', async () => {
    const users = [await world.user(nodes[0]!, 's6-a'), await world.user(nodes[1]!, 's6-b'), await world.user(nodes[2]!, 's6-c')];
    await users[0]!.create('s6');
    for (const u of users) await u.join('s6');
    const { seq } = await users[0]!.send('s6', 'react to this');
    const seen = users.map(() => [] as string[]);
    for (const [i, u] of users.entries()) u.on('reaction', (r) => r.on && seen[i]!.push(r.user));
    await users[0]!.react('s6', seq, '🔥');
    await users[1]!.react('s6', seq, '🔥');
    await users[2]!.react('s6', seq, '👀');
    for (const s of seen) await expect.poll(() => [...s].sort()).toEqual(['s6-a', 's6-b', 's6-c']);
    const h = await users[2]!.history('s6', { after: seq - 1, limit: 5 });
    expect(h.messages[0]?.reactions).toEqual([
      { emoji: '🔥', users: ['s6-a', 's6-b'] },
      { emoji: '👀', users: ['s6-c'] },
    ]);
  });

  it('resume on another node: a client whose node goes away catches up with no gap and no duplicate', async () => {
    const lb = new TcpProxy();
    const url = await lb.listen();
    lb.target = nodes[0]!.port;
    const sender = await world.user(nodes[2]!, 'resume-sender');
    await sender.create('resume-x');
    await sender.join('resume-x');
    const reader = await world.client(nodes[0]!, {
      url,
      token: await world.signup(nodes[0]!, 'resume-reader'),
      reconnect: { minMs: 20, maxMs: 100 },
    });
    await reader.join('resume-x');
    const got: number[] = [];
    reader.on('message', (m) => got.push(m.seq));
    for (let i = 0; i < 20; i++) await sender.send('resume-x', `before ${i}`);
    await expect.poll(() => got.length).toBe(20);
    const down = next(reader, 'disconnected');
    lb.target = null; // node 1 is gone: connections are refused while the sender goes on
    lb.dropAll();
    await down;
    for (let i = 0; i < 300; i++) await sender.send('resume-x', `missed ${i}`);
    lb.target = nodes[1]!.port; // the LB now routes to node 2
    await expect.poll(() => got.length, { timeout: 15_000 }).toBe(320);
    expect(got).toEqual(Array.from({ length: 320 }, (_, i) => i + 1));
    await lb.close();
  });

  it('login and sign-up allowances are cluster-wide: what one node counted, the others see', async () => {
    const env = { ...FAST, PARLEY_LOGIN_FAILS_PER_USER: '3', PARLEY_SIGNUPS_PER_ADDR: '2', PARLEY_TRUST_PROXY: 'true' };
    const [a, b] = [await world.start(env), await world.start(env)];
    const post = (gw: Gateway, path: string, body: unknown, addr: string) =>
      fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': addr },
        body: JSON.stringify(body),
      });
    const signup = (gw: Gateway, username: string, addr: string) =>
      post(gw, '/auth/signup', { username, password: 'correct horse cw' }, addr);
    const login = (gw: Gateway, username: string, password: string, addr: string) => post(gw, '/auth/login', { username, password }, addr);
    // Sign-ups: two per address, whichever node takes them.
    expect((await signup(a, 'cw-one', '203.0.113.50')).status).toBe(201);
    expect((await signup(b, 'cw-two', '203.0.113.50')).status).toBe(201);
    const refused = await signup(a, 'cw-three', '203.0.113.50');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(1000); // 30 min: 2 per hour
    expect((await signup(b, 'cw-three', '203.0.113.51')).status).toBe(201);
    // IPv6 counts per /64: a host cannot step around the allowance by taking another address.
    expect((await signup(a, 'cw-six-a', '2001:db8:5:5::1')).status).toBe(201);
    expect((await signup(b, 'cw-six-b', '2001:db8:5:5::2')).status).toBe(201);
    expect((await signup(a, 'cw-six-c', '2001:db8:5:5:ffff:1:2:3')).status).toBe(429);
    expect((await signup(b, 'cw-six-c', '2001:db8:5:6::1')).status).toBe(201);
    // Failed logins: three per username, counted on every node (from three addresses).
    expect((await login(a, 'cw-one', 'wrong 1', '198.51.100.1')).status).toBe(401);
    expect((await login(b, 'cw-one', 'wrong 2', '198.51.100.2')).status).toBe(401);
    expect((await login(a, 'cw-one', 'wrong 3', '198.51.100.3')).status).toBe(401);
    for (const gw of [a, b]) expect((await login(gw, 'cw-one', 'correct horse cw', '198.51.100.4')).status).toBe(429);
    // Another user is not affected; a success gives its attempt back, so it never runs out.
    for (let i = 0; i < 5; i++) expect((await login(i % 2 ? a : b, 'cw-two', 'correct horse cw', '198.51.100.5')).status).toBe(200);
  });
});

describe('story 3: Redis restarts mid-stream', () => {
  let world: World;
  let redis: ChildProcess;
  let port: number;
  const startRedis = async () => {
    redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: 'ignore' });
    await until('redis answers', async () => {
      const { Redis } = await import('ioredis');
      const r = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
      r.on('error', () => {}); // refused while it starts: that is what we poll for
      try {
        await r.connect();
        return (await r.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        r.disconnect();
      }
    });
  };
  beforeAll(async () => {
    port = await freePort();
    await startRedis();
    world = await (await World.create('postgres')).withRedis(`redis://127.0.0.1:${port}`);
  });
  afterAll(async () => {
    await world.close();
    redis.kill('SIGKILL');
  });

  it('readiness is false while Redis is down; sends keep committing; traffic resumes; nothing acked is lost', async () => {
    const a = await world.start(FAST);
    const b = await world.start(FAST);
    const alice = await world.user(a, 's3-alice');
    const bob = await world.user(b, 's3-bob');
    await alice.create('s3');
    await alice.join('s3');
    await bob.join('s3');
    const got = new Set<number>();
    bob.on('message', (m) => got.add(m.seq));
    const acked: number[] = [];
    for (let i = 0; i < 10; i++) acked.push((await alice.send('s3', `up ${i}`)).seq);
    const ready = async () => (await fetch(`${a.url}/readyz`)).status;
    expect(await ready()).toBe(200);
    redis.kill('SIGKILL');
    await expect.poll(ready, { timeout: 10_000 }).toBe(503);
    // Postgres is the record: sends are still acknowledged (live fan-out to other nodes pauses).
    for (let i = 0; i < 10; i++) acked.push((await alice.send('s3', `down ${i}`)).seq);
    await startRedis(); // empty: Redis kept nothing
    await expect.poll(ready, { timeout: 15_000 }).toBe(200);
    for (let i = 0; i < 10; i++) acked.push((await alice.send('s3', `back ${i}`)).seq);
    // Bob sees the live ones after recovery, and his SDK repairs the gap from history.
    await expect.poll(() => got.size, { timeout: 15_000 }).toBe(30);
    expect([...got].sort((x, y) => x - y)).toEqual(acked);
    const h = await bob.history('s3', { after: 0, limit: 100 });
    expect(h.messages.map((m) => m.seq)).toEqual(acked);
  });
});

describe('cluster mode on a real 3-master Redis Cluster (sharded pub/sub)', () => {
  let world: World;
  let redisCluster: LocalRedisCluster;
  beforeAll(async () => {
    redisCluster = await startRedisCluster(3);
    world = await (await World.create('postgres')).withRedis(redisCluster.url);
  }, 60_000);
  afterAll(async () => {
    await world?.close();
    await redisCluster?.stop();
  });

  it('messages, presence and moderation cross nodes; a late joiner resumes from the window', async () => {
    const a = await world.start(FAST);
    const b = await world.start(FAST);
    const owner = await world.user(a, 'rc-owner');
    const peer = await world.user(b, 'rc-peer');
    const channels = ['rc-1', 'rc-2', 'rc-3', 'rc-4']; // spread over several slots/shards
    for (const ch of channels) {
      await owner.create(ch);
      await owner.join(ch);
    }
    const joined = next(
      owner,
      'presence',
      (p: { type: string; joins?: { user: string }[] }) => p.type === 'diff' && !!p.joins?.some((j) => j.user === 'rc-peer'),
    );
    for (const ch of channels) await peer.join(ch);
    await joined;
    const got: string[] = [];
    peer.on('message', (m) => got.push(`${m.channel}:${m.seq}`));
    for (const ch of channels) for (let i = 0; i < 5; i++) await owner.send(ch, `x${i}`);
    await expect.poll(() => got.length, { timeout: 10_000 }).toBe(20);
    for (const ch of channels) expect(got.filter((g) => g.startsWith(`${ch}:`))).toEqual([1, 2, 3, 4, 5].map((s) => `${ch}:${s}`));
    await owner.command('rc-1', '/mute rc-peer 1m shh');
    // In force on the peer's node within 1 s (the brief's bound): the control message and the
    // peer's frame reach that node on different sockets, so a send right after may still pass.
    await expect
      .poll(
        () =>
          peer.send('rc-1', 'no').then(
            () => 'accepted',
            (e: { code: number }) => e.code,
          ),
        { timeout: 1000, interval: 50 },
      )
      .toBe(203);
    const h = await peer.history('rc-2', { after: 2, limit: 10 });
    expect(h.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
  });
});
