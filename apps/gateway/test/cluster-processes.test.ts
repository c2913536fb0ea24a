import { ParleyClient } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcCluster } from './proc-cluster.js';
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

  it('story 2: kill -9 of a gateway mid-stream: clients resume with no gap or duplicate, one leave per user gone, acked = in history', async () => {
    const owner = await connect({ token: await signup('k9-owner') });
    await owner.c.create('k9');
    await owner.c.join('k9');
    // Spread readers over the nodes (leastconn); some of them will not come back after the crash.
    const readers: { c: ParleyClient; node: string; name: string; returns: boolean; got: number[] }[] = [];
    for (let i = 0; i < 12; i++) {
      const returns = i % 2 === 0;
      const name = `k9-reader-${i}`;
      const { c, node } = await connect(returns ? { guestName: name } : { guestName: name, reconnect: false });
      await c.join('k9');
      const got: number[] = [];
      c.on('message', (m) => got.push(m.seq));
      readers.push({ c, node, name, returns, got });
    }
    const victim = readers[0]!.node === owner.node ? readers[1]!.node : readers[0]!.node;
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
