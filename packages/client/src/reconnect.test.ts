import { CloseCode, ErrorCode, Op, rateAbuseReason } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeServer, sleep, until } from '../test/fake-server.js';
import { type DisconnectInfo, type Message, ParleyClient } from './index.js';

let server: FakeServer;
const clients: ParleyClient[] = [];

beforeEach(async () => {
  server = await FakeServer.start();
  server.channel('general');
  server.channel('random');
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.stop();
});

function client(opts: Partial<ConstructorParameters<typeof ParleyClient>[0]> = {}) {
  const c = new ParleyClient({ url: server.url, guestName: 'alice', reconnect: { minMs: 20, maxMs: 100 }, ...opts });
  clients.push(c);
  const messages: Message[] = [];
  const downs: DisconnectInfo[] = [];
  let connects = 0;
  c.on('message', (m) => messages.push(m));
  c.on('disconnected', (d) => downs.push(d));
  c.on('connected', () => connects++);
  return { c, messages, downs, connects: () => connects };
}

const seqs = (ms: Message[], channel = 'general') => ms.filter((m) => m.channel === channel).map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('reconnect', () => {
  it('rejoins every channel and catches up on what it missed, with no gap or duplicate', async () => {
    const { c, messages, downs, connects } = client();
    await c.connect();
    await c.join('general');
    await c.join('random');
    for (let i = 0; i < 3; i++) server.post('general', 'bob', `live ${i}`);
    await until(() => messages.length === 3);

    // Published while we were away: more than one history page in one channel. Stored from the
    // disconnect event itself, before the client can be back (polling for the disconnect could
    // wake up after the reconnect on a loaded machine, and the rejoin would then see nothing missed).
    c.on('disconnected', () => {
      if (downs.length !== 1) return;
      for (let i = 0; i < 230; i++) server.store('general', 'bob', `missed ${i}`);
      server.store('random', 'bob', 'missed in random');
    });
    server.only().ws.close(CloseCode.GoingAway, 'bye');
    await until(() => downs.length === 1);
    expect(downs[0]).toMatchObject({ code: CloseCode.GoingAway, willReconnect: true });

    await until(() => connects() === 2);
    await until(() => messages.length === 3 + 230 + 1);
    server.post('general', 'bob', 'after');
    await until(() => seqs(messages).length === 234);
    expect(seqs(messages)).toEqual(range(1, 234));
    expect(seqs(messages, 'random')).toEqual([1]);
    const joins = server.requestsOf(Op.Join).map((r) => (r.op === Op.Join ? r.name : ''));
    expect(joins.sort()).toEqual(['general', 'general', 'random', 'random']);
    expect(server.requestsOf(Op.History).map((r) => (r.op === Op.History ? r.after : -1))).toEqual(expect.arrayContaining([3, 103, 203]));
  });

  it('catches up from an empty cursor (lastSeq 0) with history after 0', async () => {
    const { c, messages } = client();
    await c.connect();
    await c.join('general');
    server.only().ws.terminate();
    for (let i = 0; i < 150; i++) server.store('general', 'bob', `m${i}`);
    await until(() => messages.length === 150, 5000);
    expect(seqs(messages)).toEqual(range(1, 150));
    const afters = server.requestsOf(Op.History).map((r) => (r.op === Op.History ? r.after : -1));
    expect(afters).toEqual([0, 100]);
  });

  it('resends unacked and queued sends with the same cmid after reconnect, stored once', async () => {
    const { c, messages } = client();
    await c.connect();
    await c.join('general');
    server.withholdAcks = true; // stored, but the ack is "lost" with the connection
    const first = c.send('general', 'one');
    await until(() => server.channels.get('general')?.messages.length === 1);
    let second: Promise<unknown> | undefined;
    c.once('disconnected', () => {
      expect(c.connected).toBe(false);
      second = c.send('general', 'two'); // issued while disconnected
      server.withholdAcks = false;
    });
    server.only().ws.terminate();
    await until(() => second !== undefined);

    const [a, b] = (await Promise.all([first, second])) as [{ seq: number }, { seq: number }];
    expect(a.seq).toBe(1);
    expect(b.seq).toBe(2);
    const stored = server.channels.get('general')?.messages ?? [];
    expect(stored.map((m) => m.text)).toEqual(['one', 'two']);
    const sends = server.requestsOf(Op.Message).map((r) => (r.op === Op.Message ? r.cmid : null));
    expect(sends).toHaveLength(3);
    expect(sends[1]).toBe(sends[0]);
    await until(() => messages.length === 2);
    expect(seqs(messages)).toEqual([1, 2]);
  });

  it('fails other pending requests immediately on disconnect', async () => {
    const { c } = client();
    await c.connect();
    server.hooks.push((_conn, req) => req.op === Op.List);
    const pending = c.list();
    server.only().ws.terminate();
    await expect(pending).rejects.toMatchObject({ code: ErrorCode.Unavailable });
  });

  it('does not reconnect after a 4000–4099 close, and rejects queued sends', async () => {
    const { c, downs } = client();
    await c.connect();
    await c.join('general');
    server.hooks.push((_conn, req) => req.op === Op.Message);
    const send = c.send('general', 'hi');
    server.only().ws.close(CloseCode.Unauthorized, 'token expired');
    await expect(send).rejects.toMatchObject({ code: ErrorCode.Unauthorized });
    expect(downs).toEqual([{ code: CloseCode.Unauthorized, reason: 'token expired', willReconnect: false }]);
    await sleep(150);
    expect(server.connections).toBe(1);
    expect(c.channels).toEqual([]);
  });

  it('comes back after a rate-abuse close (4008) only once the wait it names has passed', async () => {
    const { c, downs, connects } = client();
    await c.connect();
    await c.join('general');
    const closedAt = Date.now();
    server.only().ws.close(CloseCode.RateLimitAbuse, rateAbuseReason(300));
    await until(() => connects() === 2);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(290);
    expect(downs).toEqual([
      { code: CloseCode.RateLimitAbuse, reason: rateAbuseReason(300), willReconnect: true, delayMs: expect.any(Number) },
    ]);
    expect(downs[0]!.delayMs).toBeGreaterThanOrEqual(300);
    await until(() => server.requestsOf(Op.Join).length === 2);
    expect(c.channels).toEqual(['general']);
  });

  it('keeps retrying with backoff while reconnect attempts fail, then resumes', async () => {
    const { c, downs, connects } = client();
    await c.connect();
    await c.join('general');
    server.refuse = [CloseCode.IdleTimeout, 1011, CloseCode.GoingAway];
    server.only().ws.close(CloseCode.SlowConsumer, 'slow');
    await until(() => connects() === 2);
    expect(server.connections).toBe(5);
    // Failed attempts in between are not reported as separate disconnects.
    expect(downs).toEqual([{ code: CloseCode.SlowConsumer, reason: 'slow', willReconnect: true, delayMs: expect.any(Number) }]);
    await until(() => server.requestsOf(Op.Join).length === 2);
    expect(c.channels).toEqual(['general']);
  });

  it('gives up when a reconnect attempt is refused with 4000–4099', async () => {
    const { c, downs } = client();
    await c.connect();
    server.refuse = [CloseCode.Unauthorized];
    server.only().ws.close(CloseCode.GoingAway);
    await until(() => downs.length === 2);
    expect(downs[1]).toMatchObject({ code: CloseCode.Unauthorized, willReconnect: false });
    await sleep(150);
    expect(server.connections).toBe(2);
  });

  it('stops when the token is refused at upgrade on reconnect (HTTP 401)', async () => {
    let token = 'user:alice';
    const { c, downs } = client({ token: () => token, guestName: undefined });
    await c.connect();
    token = 'expired';
    server.only().ws.close(CloseCode.GoingAway);
    await until(() => downs.length === 2);
    expect(downs[1]).toMatchObject({ code: CloseCode.Unauthorized, willReconnect: false });
  });

  it('drains on a Reconnect event: closes and comes back after the given delay', async () => {
    const { c, downs, connects } = client({ reconnect: { minMs: 5_000, maxMs: 10_000 } });
    await c.connect();
    await c.join('general');
    const t0 = Date.now();
    server.event(server.only(), { op: Op.Reconnect, delayMs: 120 });
    await until(() => downs.length === 1);
    expect(downs[0]).toMatchObject({ willReconnect: true, delayMs: 120 });
    await until(() => connects() === 2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    await until(() => server.requestsOf(Op.Join).length === 2);
    expect(server.connections).toBe(2);
  });

  it('a guest with a generated name keeps it across reconnects', async () => {
    const { c, connects } = client({ guestName: undefined });
    const hello = await c.connect();
    expect(hello.user).toMatch(/^guest-/);
    server.only().ws.close(CloseCode.GoingAway);
    await until(() => connects() === 2);
    expect(c.user?.user).toBe(hello.user);
  });

  it('a guest reconnects with the guest token of its last Hello, and exposes it for the app to keep', async () => {
    const { c, connects } = client({ guestName: 'zed' });
    await c.connect();
    expect(server.guestTokensSeen).toEqual([null]);
    const first = c.guestToken;
    expect(first).toMatch(/^gt:zed:/);
    server.only().ws.close(CloseCode.GoingAway);
    await until(() => connects() === 2);
    expect(server.guestTokensSeen[1]).toBe(first);
    expect(c.user?.user).toBe('zed');
    // The next session of the app starts from the kept token.
    const { c: later } = client({ guestName: undefined, guestToken: c.guestToken });
    expect(await later.connect()).toMatchObject({ user: 'zed', guest: true });
    expect(server.guestTokensSeen.at(-1)).toBe(c.guestToken);
  });

  it('does not rejoin a channel it was kicked from', async () => {
    const { c, connects } = client();
    await c.connect();
    await c.join('general');
    await c.join('random');
    const cid = server.channels.get('general')?.cid ?? 0;
    server.event(server.only(), { op: Op.Moderation, cid, action: 1, target: 'alice', actor: 'mod', until: null, reason: null });
    await until(() => c.channels.length === 1);
    server.only().ws.close(CloseCode.GoingAway);
    await until(() => connects() === 2);
    await until(() => server.requestsOf(Op.Join).length === 3);
    await sleep(50);
    const joins = server.requestsOf(Op.Join).map((r) => (r.op === Op.Join ? r.name : ''));
    expect(joins).toEqual(['general', 'random', 'random']);
  });

  it('close() stops for good and rejects queued sends', async () => {
    const { c } = client();
    await c.connect();
    await c.join('general');
    server.hooks.push((_conn, req) => req.op === Op.Message);
    const send = c.send('general', 'hi');
    c.close();
    await expect(send).rejects.toMatchObject({ code: ErrorCode.Unavailable });
    await sleep(100);
    expect(server.connections).toBe(1);
  });
});
