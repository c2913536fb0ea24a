import { spawn } from 'node:child_process';
import { ParleyClient } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcCluster } from './proc-cluster.js';
import { freePort } from './redis-cluster.js';
import { provisionPostgres, provisionRedis } from './services.js';

/**
 * The cluster as operators run it: gateway PROCESSES (the `npm start` entry point) behind a real
 * HAProxy with the repo's config, real Redis and Postgres. Clients only know the LB address.
 */
describe('cluster processes behind HAProxy', () => {
  let cluster: ProcCluster;
  let cleanups: (() => Promise<void>)[] = [];
  const clients: ParleyClient[] = [];

  beforeAll(async () => {
    const pg = await provisionPostgres();
    const redis = await provisionRedis();
    cleanups = [pg.drop, redis.cleanup];
    cluster = await ProcCluster.start(3, {
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      PARLEY_REDIS_PREFIX: redis.prefix,
      PARLEY_RATE_PER_S: '10000',
      PARLEY_RATE_BURST: '10000',
      PARLEY_DRAIN_SPREAD_MS: '300',
      PARLEY_LOG_LEVEL: 'info',
    });
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.close();
    for (const f of cleanups) await f();
  });

  const connect = async (opts: { guestName?: string; token?: string; reconnect?: false }) => {
    const c = new ParleyClient({ url: cluster.lbUrl, reconnect: { minMs: 50, maxMs: 500 }, ...opts });
    clients.push(c);
    const hello = await c.connect();
    return { c, node: hello.node };
  };
  const signup = async (username: string) => {
    const res = await fetch(`${cluster.lbUrl}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ username, password: 'a long enough password' }),
    });
    return ((await res.json()) as { accessToken: string }).accessToken;
  };

  it('story 1: 30 clients (registered and guests) in 3 channels spread over 3 nodes: every message once, in order', async () => {
    const owner = await connect({ token: await signup('p1-owner') });
    for (const ch of ['p1-a', 'p1-b', 'p1-c']) await owner.c.create(ch);
    const members: { c: ParleyClient; ch: string; node: string; got: string[] }[] = [];
    for (let i = 0; i < 30; i++) {
      const { c, node } = await connect(i % 2 ? { guestName: `p1-guest-${i}` } : { token: await signup(`p1-user-${i}`) });
      const ch = ['p1-a', 'p1-b', 'p1-c'][i % 3]!;
      await c.join(ch);
      const got: string[] = [];
      c.on('message', (m) => m.channel === ch && got.push(`${m.seq}:${m.text}`));
      members.push({ c, ch, node, got });
    }
    expect(new Set(members.map((m) => m.node)).size).toBe(3); // HAProxy spread them over the nodes
    const sent = new Map<string, string[]>();
    await Promise.all(
      members.map(async ({ c, ch }, i) => {
        for (let k = 0; k < 5; k++) {
          const text = `from ${i} #${k}`;
          const { seq } = await c.send(ch, text);
          sent.set(ch, [...(sent.get(ch) ?? []), `${seq}:${text}`]);
        }
      }),
    );
    for (const list of sent.values()) list.sort((a, b) => Number(a.split(':')[0]) - Number(b.split(':')[0]));
    for (const { ch, got } of members) {
      await expect.poll(() => got.length, { timeout: 10_000 }).toBe(50);
      expect(got).toEqual(sent.get(ch));
    }
  }, 60_000);

  it('story 4: a moderator on one node mutes a user on another for 2 s with a reason', async () => {
    const mod = await connect({ token: await signup('p4-mod') });
    let target = await connect({ token: await signup('p4-target') });
    while (target.node === mod.node) {
      target.c.close();
      target = await connect({ token: await signup(`p4-t-${Math.random().toString(36).slice(2, 7)}`) });
    }
    const targetName = target.c.user!.user;
    await mod.c.create('p4');
    await mod.c.join('p4');
    await target.c.join('p4');
    const t0 = Date.now();
    await mod.c.command('p4', `/mute ${targetName} 2s cool it`);
    const err = await target.c.send('p4', 'hello?').catch((e) => e);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err).toMatchObject({ code: 203 });
    expect(err.message).toContain('cool it');
    await expect
      .poll(
        () =>
          target.c.send('p4', 'back').then(
            () => true,
            () => false,
          ),
        { timeout: 6000, interval: 200 },
      )
      .toBe(true);
  }, 30_000);

  it('story 6: three users on different nodes react; everyone sees who reacted; history keeps it across restarts', async () => {
    const users = [];
    for (let i = 0; i < 3; i++) users.push(await connect({ token: await signup(`p6-${i}`) }));
    expect(new Set(users.map((u) => u.node)).size).toBeGreaterThan(1);
    await users[0]!.c.create('p6');
    for (const u of users) await u.c.join('p6');
    const { seq } = await users[0]!.c.send('p6', 'react here');
    const seen = users.map(() => [] as string[]);
    for (const [i, u] of users.entries()) u.c.on('reaction', (r) => r.on && seen[i]!.push(r.user));
    await users[0]!.c.react('p6', seq, '❤️');
    await users[1]!.c.react('p6', seq, '❤️');
    await users[2]!.c.react('p6', seq, '😂');
    for (const s of seen) await expect.poll(() => [...s].sort()).toEqual(['p6-0', 'p6-1', 'p6-2']);
    const want = [
      { emoji: '❤️', users: ['p6-0', 'p6-1'] },
      { emoji: '😂', users: ['p6-2'] },
    ];
    expect((await users[2]!.c.history('p6', { after: seq - 1, limit: 1 })).messages[0]?.reactions).toEqual(want);
    // Restart every node (drain, start): the reactions are in Postgres.
    for (const node of cluster.nodes) {
      await node.stop('SIGTERM');
      await node.start();
    }
    const late = await connect({ guestName: 'p6-late' });
    await late.c.join('p6');
    expect((await late.c.history('p6', { after: seq - 1, limit: 1 })).messages[0]?.reactions).toEqual(want);
  }, 90_000);

  it('story 2: kill -9 of a gateway mid-stream: clients resume with no gap or duplicate, one leave per user gone, acked = in history', async () => {
    // Earlier tests' clients would skew HAProxy's leastconn: start from empty nodes.
    for (const c of clients.splice(0)) c.close();
    const owner = await connect({ token: await signup('k9-owner') });
    await owner.c.create('k9');
    await owner.c.join('k9');
    // Spread readers over the nodes (leastconn); some of them will not come back after the crash.
    const readers: { c: ParleyClient; node: string; name: string; returns: boolean; got: number[] }[] = [];
    const lost = () => readers.filter((r) => !r.returns && r.node !== owner.node).length;
    for (let i = 0; i < 12 || (lost() < 2 && i < 40); i++) {
      // A period of 3 against leastconn's rotation over the nodes: non-returning readers land on
      // every node, whatever the rotation's phase.
      const returns = i % 3 !== 1;
      const name = `k9-reader-${i}`;
      const { c, node } = await connect(returns ? { guestName: name } : { guestName: name, reconnect: false });
      await c.join('k9');
      const got: number[] = [];
      c.on('message', (m) => got.push(m.seq));
      readers.push({ c, node, name, returns, got });
    }
    // The victim: the node (not the sender's) holding the most readers that will not come back.
    const gonePerNode = new Map<string, number>();
    for (const r of readers) if (!r.returns && r.node !== owner.node) gonePerNode.set(r.node, (gonePerNode.get(r.node) ?? 0) + 1);
    const victim = [...gonePerNode].sort((a, b) => b[1] - a[1])[0]?.[0];
    if (!victim) throw new Error(`no reader to lose: ${JSON.stringify(readers.map((r) => [r.node, r.returns]))}`);
    const leaves: string[] = [];
    owner.c.on('presence', (p) => p.type === 'diff' && leaves.push(...p.leaves));

    const acked: number[] = [];
    let sending = true;
    const sender = (async () => {
      let i = 0;
      while (sending) acked.push((await owner.c.send('k9', `m${i++}`)).seq);
    })();
    await expect.poll(() => acked.length, { timeout: 10_000 }).toBeGreaterThan(50);
    const killedAt = Date.now();
    await cluster.nodes.find((g) => g.name === victim)!.stop('SIGKILL');
    await expect.poll(() => acked.length, { timeout: 10_000 }).toBeGreaterThan(acked.length + 100);
    const gone = readers.filter((r) => r.node === victim && !r.returns).map((r) => r.name);
    expect(gone.length).toBeGreaterThan(0);
    // Presence converges: each user that is gone for good leaves exactly once, within 15 s.
    await expect.poll(() => [...leaves].sort(), { timeout: 16_000, interval: 200 }).toEqual([...gone].sort());
    const convergedMs = Date.now() - killedAt;
    sending = false;
    await sender;
    const last = acked.at(-1)!;
    expect(acked).toEqual(Array.from({ length: acked.length }, (_, i) => i + 1));
    // Everyone still here — including those who were on the dead node — has every message once, in order.
    for (const r of readers.filter((x) => x.node !== victim || x.returns)) {
      await expect.poll(() => r.got.at(-1), { timeout: 15_000 }).toBe(last);
      expect(r.got).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    }
    expect(await historySeqs(owner.c, 'k9')).toEqual(acked);
    expect(leaves.filter((u) => !gone.includes(u))).toEqual([]); // nobody who came back was shown leaving
    console.log(`presence converged ${convergedMs} ms after kill -9; ${acked.length} messages acked`);
    // Bring the node back for the next test.
    await cluster.nodes.find((g) => g.name === victim)!.start();
  }, 90_000);

  it('rolling restart of all 3 gateways under steady traffic: every acked message once in history, every client complete', async () => {
    const owner = await connect({ token: await signup('roll-owner') });
    await owner.c.create('roll');
    await owner.c.join('roll');
    const readers: number[][] = [];
    for (let i = 0; i < 6; i++) {
      const { c } = await connect({ guestName: `roll-${i}` });
      await c.join('roll');
      const got: number[] = [];
      c.on('message', (m) => got.push(m.seq));
      readers.push(got);
    }
    const acked: number[] = [];
    let sending = true;
    const sender = (async () => {
      let i = 0;
      while (sending) acked.push((await owner.c.send('roll', `r${i++}`)).seq);
    })();
    for (const node of cluster.nodes) {
      const before = acked.length;
      expect(await node.stop('SIGTERM')).toBe(0); // drains: Reconnect hints, flush, exit 0
      await node.start();
      await expect.poll(() => acked.length, { timeout: 15_000 }).toBeGreaterThan(before + 20);
    }
    sending = false;
    await sender;
    const last = acked.at(-1)!;
    expect(acked).toEqual(Array.from({ length: acked.length }, (_, i) => i + 1));
    for (const got of readers) {
      await expect.poll(() => got.at(-1), { timeout: 15_000 }).toBe(last);
      expect(got).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    }
    expect(await historySeqs(owner.c, 'roll')).toEqual(acked);
  }, 120_000);
});

/** Every seq in a channel's history, paging forward from the start. */
async function historySeqs(c: ParleyClient, channel: string): Promise<number[]> {
  const seqs: number[] = [];
  for (let after = 0; ; ) {
    const page = await c.history(channel, { after, limit: 100 });
    seqs.push(...page.messages.map((m) => m.seq));
    if (!page.more || page.messages.length === 0) return seqs;
    after = page.messages.at(-1)!.seq;
  }
}

describe('story 3 with processes: Redis restarts mid-stream behind HAProxy', () => {
  it('readiness false while Redis is down, sends still committed, traffic resumes, no acked message lost', async () => {
    const pg = await provisionPostgres();
    const port = await freePort();
    const startRedis = () =>
      spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: 'ignore' });
    let redis = startRedis();
    const redisUrl = `redis://127.0.0.1:${port}`;
    const cluster = await ProcCluster.start(2, {
      DATABASE_URL: pg.url,
      REDIS_URL: redisUrl,
      PARLEY_RATE_PER_S: '10000',
      PARLEY_RATE_BURST: '10000',
    });
    const clients: ParleyClient[] = [];
    try {
      const mk = async (opts: Partial<{ guestName: string }>) => {
        const c = new ParleyClient({ url: cluster.lbUrl, reconnect: { minMs: 50, maxMs: 500 }, ...opts });
        clients.push(c);
        return { c, node: (await c.connect()).node };
      };
      const res = await fetch(`${cluster.lbUrl}/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'p3-owner', password: 'a long enough password' }),
      });
      const owner = new ParleyClient({ url: cluster.nodes[0]!.url, token: ((await res.json()) as { accessToken: string }).accessToken });
      clients.push(owner);
      await owner.connect();
      await owner.create('p3');
      await owner.join('p3');
      const readers = [await mk({ guestName: 'p3-r1' }), await mk({ guestName: 'p3-r2' })];
      const got = readers.map(() => new Set<number>());
      for (const [i, r] of readers.entries()) {
        await r.c.join('p3');
        r.c.on('message', (m) => got[i]!.add(m.seq));
      }
      const acked: number[] = [];
      for (let i = 0; i < 10; i++) acked.push((await owner.send('p3', `up ${i}`)).seq);
      const ready = (url: string) =>
        fetch(`${url}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
      redis.kill('SIGKILL');
      for (const n of cluster.nodes) await expect.poll(() => ready(n.url), { timeout: 10_000 }).toBe(503);
      for (let i = 0; i < 10; i++) acked.push((await owner.send('p3', `down ${i}`)).seq); // Postgres is the record
      redis = startRedis(); // comes back empty
      for (const n of cluster.nodes) await expect.poll(() => ready(n.url), { timeout: 15_000 }).toBe(200);
      for (let i = 0; i < 10; i++) acked.push((await owner.send('p3', `back ${i}`)).seq);
      for (const g of got) {
        await expect.poll(() => g.size, { timeout: 15_000 }).toBe(30);
        expect([...g].sort((x, y) => x - y)).toEqual(acked);
      }
      expect(await historySeqs(owner, 'p3')).toEqual(acked);
    } finally {
      for (const c of clients) c.close();
      await cluster.close();
      redis.kill('SIGKILL');
      await pg.drop();
    }
  }, 120_000);
});
