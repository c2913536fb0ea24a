import { CloseCode, ErrorCode, encodeEvent, encodeReply, ModAction, Op } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeServer, messageEvent, sleep, until } from '../test/fake-server.js';
import { type Message, ParleyClient, ParleyError, type PresenceEvent } from './index.js';

let server: FakeServer;
const clients: ParleyClient[] = [];

beforeEach(async () => {
  server = await FakeServer.start();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.stop();
});

function client(opts: Partial<ConstructorParameters<typeof ParleyClient>[0]> = {}): ParleyClient {
  const c = new ParleyClient({ url: server.url, guestName: 'alice', reconnect: { minMs: 10, maxMs: 50 }, ...opts });
  clients.push(c);
  return c;
}

function collect(c: ParleyClient): Message[] {
  const out: Message[] = [];
  c.on('message', (m) => out.push(m));
  return out;
}

describe('connect', () => {
  it('resolves with Hello and sends the subprotocol and auth query', async () => {
    const c = client({ token: 'user:bob' });
    const connected: unknown[] = [];
    c.on('connected', (h) => connected.push(h));
    const hello = await c.connect();
    expect(hello).toEqual({ user: 'bob', guest: false, node: 'fake-1', heartbeatMs: 25_000 });
    expect(connected).toEqual([hello]);
    expect(c.user?.user).toBe('bob');
    expect(server.only().ws.protocol).toBe('parley.v1');
  });

  it('connects as a guest by name', async () => {
    const hello = await client({ guestName: 'zoé' }).connect();
    expect(hello).toMatchObject({ user: 'zoé', guest: true });
  });

  it('accepts a token function (re-read on every attempt)', async () => {
    const hello = await client({ token: async () => 'user:carol' }).connect();
    expect(hello.user).toBe('carol');
  });

  it('rejects with the close code when the server closes before Hello', async () => {
    const err = await client({ token: 'bad' })
      .connect()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParleyError);
    expect(err).toMatchObject({ code: CloseCode.Unauthorized, message: 'invalid token' });
  });

  it('maps an HTTP 401 at upgrade to Unauthorized (4001), not a retryable 1006', async () => {
    const err = await client({ token: 'expired' })
      .connect()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: CloseCode.Unauthorized, message: 'HTTP 401 at upgrade' });
  });

  it('rejects when nothing listens', async () => {
    const url = server.url;
    await server.stop();
    server = await FakeServer.start(); // keep afterEach happy
    const err = await client({ url })
      .connect()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParleyError);
  });
});

describe('requests', () => {
  it('create, join (presence state), list, members, react, command, leave', async () => {
    const c = client();
    const presence: PresenceEvent[] = [];
    c.on('presence', (p) => presence.push(p));
    await c.connect();
    await c.create('general');
    const joined = await c.join('general');
    expect(joined).toEqual({ members: [{ user: 'alice', guest: true }], online: 1, lastSeq: 0 });
    expect(presence).toEqual([{ channel: 'general', type: 'state', members: [{ user: 'alice', guest: true }], online: 1 }]);
    expect(c.channels).toEqual(['general']);
    expect(await c.list()).toEqual([{ name: 'general', members: 1 }]);
    expect(await c.members('general')).toEqual([{ user: 'alice', role: 'member', online: true }]);
    await c.react('general', 1, '👍');
    await c.unreact('general', 1, '👍');
    expect(await c.command('general', '/mute bob 60 spamming')).toBe('ok: /mute bob 60 spamming');
    await c.leave('general');
    expect(c.channels).toEqual([]);
    expect(server.only().requests.map((r) => r.op)).toEqual([
      Op.Create,
      Op.Join,
      Op.List,
      Op.Members,
      Op.React,
      Op.Unreact,
      Op.Command,
      Op.Leave,
    ]);
  });

  it('maps error frames to ParleyError with code and retryAfterMs', async () => {
    const c = client();
    await c.connect();
    const notFound = await c.join('nope').catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(ParleyError);
    expect(notFound).toMatchObject({ code: ErrorCode.NotFound, message: 'no such channel' });

    server.channel('general');
    await c.join('general');
    server.hooks.push((conn, req) => {
      if (req.op !== Op.Message) return false;
      server.error(conn, req, ErrorCode.RateLimited, 'slow down', 1500);
      return true;
    });
    const limited = await c.send('general', 'hi').catch((e: unknown) => e);
    expect(limited).toMatchObject({ code: ErrorCode.RateLimited, retryAfterMs: 1500, retryable: true });
  });

  it('reports unsolicited error frames as error events', async () => {
    const c = client();
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    await c.connect();
    server.only().ws.send(new Uint8Array([0x94, 0x60, 0x00, 0x64, 0xa3, 0x62, 0x61, 0x64])); // [96, 0, 100, 'bad']
    await until(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: ErrorCode.BadFrame, message: 'bad' });
  });

  it('times out unanswered requests with Unavailable', async () => {
    const c = client({ requestTimeoutMs: 80 });
    await c.connect();
    server.hooks.push(() => true); // swallow everything
    const err = await c.list().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.Unavailable });
  });

  it('rejects sends to channels it is not in, and bad text, without a round trip', async () => {
    const c = client();
    await c.connect();
    await expect(c.send('general', 'hi')).rejects.toMatchObject({ code: ErrorCode.NotMember });
    server.channel('general');
    await c.join('general');
    await expect(c.send('general', '')).rejects.toMatchObject({ code: ErrorCode.InvalidFields });
    await expect(c.send('general', 'x'.repeat(4001))).rejects.toMatchObject({ code: ErrorCode.InvalidFields });
    expect(server.requestsOf(Op.Message)).toHaveLength(0);
  });

  it('resolves history by name, including channels it has not joined', async () => {
    server.channel('general');
    for (let i = 1; i <= 5; i++) server.store('general', 'bob', `m${i}`);
    const c = client();
    await c.connect();
    const page = await c.history('general', { before: 5, limit: 2 });
    expect(page.more).toBe(true);
    expect(page.messages.map((m) => [m.channel, m.seq, m.text])).toEqual([
      ['general', 3, 'm3'],
      ['general', 4, 'm4'],
    ]);
    await expect(c.history('nope')).rejects.toMatchObject({ code: ErrorCode.NotFound });
  });
});

describe('live events', () => {
  it('delivers messages and acks sends with seq', async () => {
    server.channel('general');
    const a = client();
    const b = client({ guestName: 'bob' });
    const got = collect(b);
    await a.connect();
    await b.connect();
    await a.join('general');
    await b.join('general');
    const ack = await a.send('general', 'hello');
    expect(ack.seq).toBe(1);
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ channel: 'general', seq: 1, user: 'alice', text: 'hello' });
    const req = server.requestsOf(Op.Message)[0];
    expect(req).toMatchObject({ cmid: expect.stringMatching(/^[0-9a-f-]{16,}$/) });
  });

  it('unpacks batches: messages, presence, typing, reactions, moderation', async () => {
    server.channel('general');
    const c = client();
    const seen: string[] = [];
    c.on('message', (m) => seen.push(`message ${m.seq}`));
    c.on('presence', (p) => seen.push(`presence ${p.type}`));
    c.on('typing', (t) => seen.push(`typing ${t.users.join(',')}`));
    c.on('reaction', (r) => seen.push(`reaction ${r.seq} ${r.emoji} ${r.user} ${r.on}`));
    c.on('moderation', (m) => seen.push(`moderation ${m.action} ${m.target} by ${m.actor} ${m.reason}`));
    await c.connect();
    const { cid } = server.channel('general');
    await c.join('general');
    seen.length = 0;
    const m1 = server.store('general', 'bob', 'one');
    const m2 = server.store('general', 'bob', 'two');
    server.push(server.only(), [
      messageEvent(m1),
      encodeEvent({ op: Op.PresenceDiff, cid, joins: [{ user: 'bob', guest: false }], leaves: [] }),
      encodeEvent({ op: Op.Typing, cid, users: ['bob'] }),
      messageEvent(m2),
      encodeEvent({ op: Op.Reaction, cid, seq: 1, emoji: '👍', user: 'bob', on: true }),
      encodeEvent({ op: Op.Moderation, cid, action: 2, target: 'eve', actor: 'bob', until: 123, reason: 'spam' }),
      encodeEvent({ op: Op.PresenceState, cid, members: [] }),
    ]);
    await until(() => seen.length === 7);
    expect(seen).toEqual([
      'message 1',
      'presence diff',
      'typing bob',
      'message 2',
      'reaction 1 👍 bob true',
      'moderation mute eve by bob spam',
      'presence state',
    ]);
  });

  it('throttles typing to one frame per interval per channel', async () => {
    server.channel('general');
    server.channel('random');
    const c = client({ typingIntervalMs: 100 });
    await c.connect();
    await c.join('general');
    await c.join('random');
    for (let i = 0; i < 5; i++) c.typing('general');
    c.typing('random');
    c.typing('not-joined');
    await sleep(120);
    c.typing('general');
    await until(() => server.requestsOf(Op.Typing).length === 3);
    await sleep(30);
    expect(server.requestsOf(Op.Typing)).toHaveLength(3);
    expect(server.requestsOf(Op.Typing).every((r) => r.rid === 0)).toBe(true);
  });

  it('reorders, repairs gaps from history and drops duplicates', async () => {
    server.channel('general');
    const c = client({ reorderWindowMs: 40 });
    const got = collect(c);
    await c.connect();
    await c.join('general');
    const conn = server.only();
    const ms = Array.from({ length: 6 }, (_, i) => server.store('general', 'bob', `m${i + 1}`));
    const ev = (i: number) => messageEvent(ms[i - 1] as NonNullable<(typeof ms)[number]>);
    // 2 before 1 (reorder), 1 twice (duplicate), 3 never arrives live (gap), then 4..6.
    server.push(conn, [ev(2), ev(1), ev(1)]);
    server.push(conn, [ev(4), ev(6), ev(5), ev(2)]);
    await until(() => got.length === 6);
    await sleep(80);
    expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(server.requestsOf(Op.History)).toEqual([expect.objectContaining({ after: 2, before: null })]);
  });

  it('starts the cursor at the join reply lastSeq and keeps messages published before the reply', async () => {
    server.channel('general');
    server.store('general', 'bob', 'old');
    const c = client();
    const got = collect(c);
    await c.connect();
    server.hooks.push((conn, req) => {
      if (req.op !== Op.Join) return false;
      // The server publishes seq 2 to the new member before its join reply (lastSeq 1) is sent.
      conn.joined.add(1);
      const m = server.store('general', 'bob', 'new');
      server.push(conn, [messageEvent(m)]);
      server.reply(conn, { op: Op.Join, rid: req.rid, cid: 1, name: 'general', lastSeq: 1, members: [] });
      return true;
    });
    const r = await c.join('general');
    expect(r.lastSeq).toBe(1);
    await until(() => got.length === 1);
    expect(got.map((m) => m.text)).toEqual(['new']);
  });

  it('leaves the channel when kicked or banned, not when someone else is', async () => {
    const { cid } = server.channel('general');
    const c = client();
    const mods: string[] = [];
    c.on('moderation', (m) => mods.push(`${m.action}:${m.target}`));
    await c.connect();
    await c.join('general');
    const conn = server.only();
    server.event(conn, { op: Op.Moderation, cid, action: 1, target: 'bob', actor: 'mod', until: null, reason: null });
    await until(() => mods.length === 1);
    expect(c.channels).toEqual(['general']);
    server.event(conn, { op: Op.Moderation, cid, action: 4, target: 'alice', actor: 'mod', until: null, reason: 'bye' });
    await until(() => mods.length === 2);
    expect(mods).toEqual(['kick:bob', 'ban:alice']);
    expect(c.channels).toEqual([]);
  });

  it('leaves the channel when its user left it from another connection (action Left), without a moderation event', async () => {
    const { cid } = server.channel('general');
    const c = client();
    const left: string[] = [];
    c.on('left', (e) => left.push(e.channel));
    await c.connect();
    await c.join('general');
    const mods: string[] = [];
    c.on('moderation', (m) => mods.push(m.action));
    const leftElsewhere = (to: number) =>
      ({ op: Op.Moderation, cid: to, action: ModAction.Left, target: 'alice', actor: 'alice', until: null, reason: null }) as const;
    server.event(server.only(), leftElsewhere(cid + 1)); // not a channel it is in: nothing
    server.event(server.only(), leftElsewhere(cid));
    await until(() => left.length === 1);
    expect([left, c.channels, mods]).toEqual([['general'], [], []]);
  });

  it('ignores replies for unknown rids and keeps working', async () => {
    const c = client();
    await c.connect();
    server.only().ws.send(encodeReply({ op: Op.Command, rid: 999, text: 'stray' }));
    expect(await c.list()).toEqual([]);
  });
});
