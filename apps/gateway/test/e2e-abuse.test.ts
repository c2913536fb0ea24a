import { CloseCode, ErrorCode, encodeRequest, Op } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Gateway } from '../src/gateway.js';
import { BACKENDS, World } from './harness.js';
import { raw } from './raw-client.js';

describe.each(BACKENDS)('story 5, bad input never hurts, on %s', (backend) => {
  let world: World;
  let gw: Gateway;
  beforeAll(async () => {
    world = await World.create(backend);
    gw = await world.start();
  });
  afterAll(() => world.close());

  it('a guest is refused at /kick, 1 MiB, garbage and a 1000/s flood, and other users see no effect', async () => {
    const owner = await world.user(gw, 'boss');
    const bystander = await world.user(gw, 'bystander');
    await owner.create('lobby');
    await owner.join('lobby');
    await bystander.join('lobby');
    const seen: string[] = [];
    bystander.on('message', (m) => seen.push(m.text));

    const guest = await world.client(gw, { guestName: 'troll' });
    await guest.join('lobby');
    // 1. /kick as a guest
    await expect(guest.command('lobby', '/kick boss')).rejects.toMatchObject({ code: ErrorCode.GuestNotAllowed });

    // 2. garbage bytes and unknown types get error frames; the connection stays open
    const g = await raw(gw, 'guest=troll2');
    g.ws.send(Buffer.from([0xc1, 0xff, 0x00, 0x13]));
    g.ws.send(encodeRequest({ op: Op.List, rid: 7 }).map((b, i) => (i === 1 ? 0x1f : b))); // unknown type
    g.ws.send(Buffer.from([0x93, 0x07, 0x01, 0xa1])); // truncated
    g.ws.send('text frames are not the protocol');
    await expect.poll(() => g.frames.filter((f) => f.kind === 3).length).toBe(4);
    expect(g.frames.filter((f) => f.kind === 3).map((f) => f.code)).toEqual([
      ErrorCode.BadFrame,
      ErrorCode.UnknownType,
      ErrorCode.BadFrame,
      ErrorCode.BadFrame,
    ]);
    g.ws.send(encodeRequest({ op: Op.List, rid: 8 }));
    await expect.poll(() => g.frames.some((f) => f.kind === 1 && f.rid === 8)).toBe(true);

    // 3. 1 MiB frame: error frame 103 (too large) and a 1009 close
    const big = await raw(gw, 'guest=troll3');
    big.ws.send(Buffer.alloc(1024 * 1024, 0x41));
    const bigClose = await big.closed;
    expect(bigClose).toMatchObject({ code: 1009, reason: expect.stringContaining('message too big') });
    expect(big.frames.filter((f) => f.kind === 3).map((f) => f.code)).toEqual([ErrorCode.TooLarge]);

    // 4. flood: 1,000 messages in one second → rate-limited error frames, then closed with 4008
    const f = await raw(gw, 'guest=troll4');
    f.ws.send(encodeRequest({ op: Op.Join, rid: 1, name: 'lobby' }));
    await expect.poll(() => f.frames.some((x) => x.rid === 1)).toBe(true);
    const cid = (f.frames.find((x) => x.rid === 1) as unknown as { cid: number }).cid;
    for (let i = 0; i < 1000 && f.ws.readyState === WebSocket.OPEN; i++) {
      f.ws.send(encodeRequest({ op: Op.Message, rid: 100 + i, cid, text: `spam ${i}`, cmid: null }));
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 50));
    }
    const closed = await f.closed;
    expect(closed.code).toBe(CloseCode.RateLimitAbuse);
    const limited = f.frames.filter((x) => x.code === ErrorCode.RateLimited);
    expect(limited.length).toBeGreaterThan(0);
    const accepted = f.frames.filter((x) => x.kind === 1 && (x.rid ?? 0) >= 100).length;
    expect(accepted).toBeLessThanOrEqual(60); // burst 40 + 20/s

    // Everyone else is fine: the owner's message arrives, the node still answers.
    await owner.send('lobby', 'all good');
    await expect.poll(() => seen.includes('all good')).toBe(true);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  it('malformed frames repeated many times close the connection with 4002', async () => {
    const g = await raw(gw, 'guest=garbler');
    for (let i = 0; i < 20; i++) g.ws.send(Buffer.from([0xc1]));
    expect((await g.closed).code).toBe(CloseCode.ProtocolAbuse);
  });

  it('one address holds at most PARLEY_MAX_CONNS_PER_ADDR connections on a node: one more is closed 4009 with the reason', async () => {
    const capped = await world.start({ PARLEY_MAX_CONNS_PER_ADDR: '3', PARLEY_TRUST_PROXY: 'true' });
    const from = (addr: string) => raw(capped, '', undefined, { 'x-forwarded-for': addr });
    const hello = (r: Awaited<ReturnType<typeof raw>>) => expect.poll(() => r.frames.some((f) => f.op === Op.Hello)).toBe(true);
    const three = [await from('203.0.113.77'), await from('203.0.113.77'), await from('203.0.113.77')];
    for (const r of three) await hello(r);
    const fourth = await from('203.0.113.77');
    expect(await fourth.closed).toEqual({
      code: CloseCode.TooManyConnections,
      reason: 'at most 3 connections from one address on this server',
    });
    // The same IPv6 /64 is one address; another address is not affected.
    const v6 = [await from('2001:db8:7:7::1'), await from('2001:db8:7:7::2'), await from('2001:db8:7:7::3')];
    for (const r of v6) await hello(r);
    expect((await (await from('2001:db8:7:7:a:b:c:d')).closed).code).toBe(CloseCode.TooManyConnections);
    const other = await from('198.51.100.77');
    await hello(other);
    // A closed connection makes room; the refused ones were never counted.
    three[0]?.ws.close();
    await three[0]?.closed;
    await expect
      .poll(async () => {
        const r = await from('203.0.113.77');
        const ok = await Promise.race([
          r.closed.then(() => false),
          new Promise<boolean>((res) => setTimeout(() => res(r.frames.length > 0), 200)),
        ]);
        if (ok) r.ws.close();
        return ok;
      })
      .toBe(true);
    for (const r of [...three, ...v6, other]) r.ws.close();
  });

  it("behind a trusted proxy, a protection's warning names the client's address, not the balancer's", async () => {
    const logs: Record<string, unknown>[] = [];
    const proxied = await world.start({ PARLEY_TRUST_PROXY: 'true', PARLEY_LOG_LEVEL: 'warn' }, undefined, logs);
    const g = await raw(proxied, 'guest=garbler2', undefined, { 'x-forwarded-for': '198.51.100.23' });
    for (let i = 0; i < 20; i++) g.ws.send(Buffer.from([0xc1]));
    expect((await g.closed).code).toBe(CloseCode.ProtocolAbuse);
    await expect.poll(() => logs.some((l) => l.msg === 'malformed frames: closing')).toBe(true);
    const warned = logs.filter((l) => l.level === 40);
    expect(warned.length).toBeGreaterThan(0);
    for (const l of warned) expect(l.address).toBe('198.51.100.23');
  });

  it('a connection joins at most PARLEY_MAX_JOINS_PER_CONN channels: one more is refused 410, joins in flight count', async () => {
    const capped = await world.start({ PARLEY_MAX_JOINS_PER_CONN: '3' });
    const token = await world.signup(capped, 'hoarder');
    const owner = await world.client(capped, { token });
    const names = ['hj1', 'hj2', 'hj3', 'hj4', 'hj5'];
    for (const n of names) await owner.create(n);
    for (const n of names.slice(0, 3)) await owner.join(n);
    const err = await owner.join('hj4').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.QuotaExceeded });
    expect((err as Error).message).toBe('at most 3 channels joined per connection: leave one first');
    await owner.join('hj2'); // already in: takes no place
    await owner.send('hj3', 'still works'); // the connection is fine
    // Per connection: the same user's second connection has its own places.
    const second = await world.client(capped, { token });
    await second.join('hj4');
    // Leaving makes room; two joins in flight for the last place: exactly one gets it.
    await owner.leave('hj1');
    const raced = await Promise.allSettled([owner.join('hj4'), owner.join('hj5')]);
    expect(raced.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(raced.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: ErrorCode.QuotaExceeded } });
    // A refused join left nothing behind: leave one, and the refused channel joins.
    const refused = raced[0]?.status === 'rejected' ? 'hj4' : 'hj5';
    await owner.leave('hj2');
    await owner.join(refused);
    const heard = new Promise<string>((res) => second.on('message', (m) => m.channel === 'hj4' && res(m.text)));
    await owner.send('hj4', 'hello from the capped one');
    expect(await heard).toBe('hello from the capped one');
  });

  it('unknown subprotocol version and bad tokens are refused at upgrade with clear HTTP errors', async () => {
    const refused = await raw(gw, 'guest=x1', 'parley.v9').catch((e: Error) => e);
    expect(String(refused)).toMatch(/426/);
    const { request } = await import('node:http');
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(`${gw.url}/ws?guest=x1`, {
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'sec-websocket-protocol': 'parley.v9',
        },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(`${res.statusCode} ${text}`));
      });
      req.on('error', reject);
      req.end();
    });
    expect(body).toContain('426');
    expect(body).toContain('unsupported protocol version parley.v9; this server speaks parley.v1');
    // Auth refusals complete the upgrade and close with 4001 and a reason (browsers can read that).
    const badToken = await raw(gw, 'token=not-a-jwt');
    expect(await badToken.closed).toEqual({ code: CloseCode.Unauthorized, reason: 'invalid or expired token' });
    const taken = await raw(gw, 'guest=boss'); // a registered name
    expect(await taken.closed).toEqual({ code: CloseCode.Unauthorized, reason: '"boss" is a registered user: log in instead' });
  });

  it('auth: signup validates and hashes, login checks, duplicate names refused', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/auth/signup', { username: 'x', password: 'short' })).status).toBe(400);
    expect((await post('/auth/signup', { username: 'neo', password: 'follow the white rabbit' })).status).toBe(201);
    expect((await post('/auth/signup', { username: 'neo', password: 'another password' })).status).toBe(409);
    expect((await post('/auth/login', { username: 'neo', password: 'wrong password!' })).status).toBe(401);
    // Not a login at all: told so (400, as sign-up does), not "wrong username or password".
    for (const body of [{ username: 7, password: 'x' }, { username: 'neo' }, { username: 'neo', password: ['follow'] }]) {
      const r = await post('/auth/login', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(await r.json()).toEqual({ error: 'username and password (strings) are required' });
    }
    expect((await post('/auth/login', [1, 2])).status).toBe(400); // 'expected a JSON object'
    const ok = await post('/auth/login', { username: 'neo', password: 'follow the white rabbit' });
    expect(ok.status).toBe(200);
    const { accessToken } = (await ok.json()) as { accessToken: string };
    expect(accessToken.split('.')).toHaveLength(3);
    const c = await world.client(gw, { token: accessToken });
    expect(c).toBeTruthy();
    expect((await fetch(`${gw.url}/auth/login`, { method: 'POST', body: 'not json' })).status).toBe(400);
  });
});
