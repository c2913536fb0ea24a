import { request } from 'node:http';
import type { ParleyClient } from '@parley/client';
import { ErrorCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDb, SqlQueryable } from '../src/adapters/sql/db.js';
import type { Gateway } from '../src/gateway.js';
import { BACKENDS, next, World } from './harness.js';

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';

/** GET on the admin API over a fresh connection. */
function adminGet<T>(gw: Gateway, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(`${gw.url}${path}`, { agent: false, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(JSON.parse(text) as T) : reject(new Error(`${path}: ${res.statusCode} ${text}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The node's view of the shared database, with the moderation audit insert failing while
 * `armed.on`: the last write of every moderation action, after its change was made.
 */
function failingAuditInsert(db: SqlDb, armed: { on: boolean }): SqlDb {
  const wrap = (q: SqlQueryable): SqlQueryable => ({
    query: <T>(text: string, params?: readonly unknown[]) =>
      armed.on && text.includes('INSERT INTO moderation_audit')
        ? Promise.reject(new Error('injected: the audit insert failed'))
        : q.query<T>(text, params),
    exec: (script) => q.exec(script),
  });
  const outer = wrap(db);
  return { kind: db.kind, query: outer.query, exec: outer.exec, tx: (fn) => db.tx((q) => fn(wrap(q))), close: () => db.close() };
}

/** Moderation events `client` receives from now on. */
function collect(client: ParleyClient, name: 'moderation') {
  const seen: { action: string; target: string }[] = [];
  client.on(name, (e) => seen.push(e));
  return seen;
}

describe.each(BACKENDS)('slash commands on %s', (backend) => {
  let world: World;
  let gw: Gateway;
  beforeAll(async () => {
    world = await World.create(backend);
    gw = await world.start();
  });
  afterAll(() => world.close());

  it('/help lists the commands; unknown commands get a clear error', async () => {
    const a = await world.user(gw, 'owner1');
    await a.create('help');
    await a.join('help');
    expect(await a.command('help', '/help')).toContain('/mute <user> [duration] [reason]');
    await expect(a.command('help', '/frobnicate x')).rejects.toMatchObject({ code: ErrorCode.UnknownCommand });
    await expect(a.command('help', '/mute bob 10x')).rejects.toMatchObject({ code: ErrorCode.UnknownCommand });
  });

  it('roles: members and guests cannot moderate; the owner names moderators', async () => {
    const owner = await world.user(gw, 'owner2');
    const mod = await world.user(gw, 'mod2');
    const member = await world.user(gw, 'member2');
    const guest = await world.client(gw, { guestName: 'guest2' });
    await expect(guest.create('nope')).rejects.toMatchObject({ code: ErrorCode.GuestNotAllowed });
    await owner.create('roles');
    for (const c of [owner, mod, member, guest]) await c.join('roles');
    await expect(guest.command('roles', '/kick member2')).rejects.toMatchObject({ code: ErrorCode.GuestNotAllowed });
    await expect(member.command('roles', '/mute guest2')).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    await expect(mod.command('roles', '/mod member2')).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    expect(await owner.command('roles', '/mod mod2')).toContain('moderator');
    expect(await mod.command('roles', '/mute guest2 1m flooding')).toContain('muted guest2');
    await expect(mod.command('roles', '/kick owner2')).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    await expect(guest.send('roles', 'hello?')).rejects.toMatchObject({ code: ErrorCode.Muted });
  });

  it('/mute with duration and reason expires by itself; /unmute lifts it; audit has actor, reason, duration', async () => {
    const owner = await world.user(gw, 'owner3');
    const bob = await world.user(gw, 'bob3');
    await owner.create('mutes');
    await owner.join('mutes');
    await bob.join('mutes');
    const ev = next(bob, 'moderation', (e: { action: string }) => e.action === 'mute');
    await owner.command('mutes', '/mute bob3 2s spamming links');
    expect(await ev).toMatchObject({ channel: 'mutes', action: 'mute', target: 'bob3', actor: 'owner3', reason: 'spamming links' });
    const err = await bob.send('mutes', 'let me talk').catch((e) => e);
    expect(err).toMatchObject({ code: ErrorCode.Muted });
    expect(err.message).toContain('spamming links');
    await expect
      .poll(
        () =>
          bob.send('mutes', 'back').then(
            () => true,
            () => false,
          ),
        { timeout: 5000, interval: 250 },
      )
      .toBe(true);
    await owner.command('mutes', '/mute bob3');
    await expect(bob.send('mutes', 'x')).rejects.toMatchObject({ code: ErrorCode.Muted });
    expect(await owner.command('mutes', '/unmute bob3')).toContain('unmuted');
    await expect(bob.send('mutes', 'free')).resolves.toMatchObject({ seq: expect.any(Number) });
    const audit = await world.auditLog(gw);
    const mute = audit.find((a) => a.action === 'mute' && a.target === 'bob3' && a.reason === 'spamming links');
    expect(mute).toMatchObject({ actor: 'owner3', durationMs: 2000 });
    expect(audit.some((a) => a.action === 'unmute' && a.target === 'bob3' && a.actor === 'owner3')).toBe(true);
  });

  it('/kick removes the user from the channel (they see it) ; /ban keeps them out until /unban', async () => {
    const owner = await world.user(gw, 'owner4');
    const eve = await world.user(gw, 'eve4');
    await owner.create('kicks');
    await owner.join('kicks');
    await eve.join('kicks');
    const kicked = next(eve, 'moderation', (e: { action: string }) => e.action === 'kick');
    expect(await owner.command('kicks', '/kick eve4 be nice')).toContain('kicked eve4');
    expect(await kicked).toMatchObject({ target: 'eve4', reason: 'be nice' });
    await expect(eve.send('kicks', 'still here?')).rejects.toMatchObject({ code: ErrorCode.NotMember });
    await eve.join('kicks'); // a kick is not a ban
    const banned = next(eve, 'moderation', (e: { action: string }) => e.action === 'ban');
    await owner.command('kicks', '/ban eve4 1h trolling');
    expect(await banned).toMatchObject({ target: 'eve4', reason: 'trolling', until: expect.any(Number) });
    const refused = await eve.send('kicks', 'x').catch((e: { code: number }) => e);
    expect([ErrorCode.NotMember, ErrorCode.Banned]).toContain((refused as { code: number }).code);
    await expect(eve.join('kicks')).rejects.toMatchObject({ code: ErrorCode.Banned });
    await owner.command('kicks', '/unban eve4');
    await expect(eve.join('kicks')).resolves.toBeTruthy();
    const audit = await world.auditLog(gw);
    expect(
      audit
        .filter((a) => a.target === 'eve4')
        .map((a) => a.action)
        .sort(),
    ).toEqual(['ban', 'kick', 'unban']);
  });
});

describe.each(BACKENDS)("mute checks keep one connection's sends in order on %s", (backend) => {
  let world: World;
  afterAll(() => world.close());

  it('a send whose mute check misses the cache is not overtaken by the next ones', async () => {
    world = await World.create(backend);
    // The first mute lookup after `slowNext` is set answers late, the others at once: without the
    // ordering, the second send (a fast lookup) would commit before the first.
    let slowNext = false;
    const gw = await world.start(
      { PARLEY_RATE_PER_S: '1000', PARLEY_RATE_BURST: '1000' },
      (db: SqlDb): SqlDb => ({
        kind: db.kind,
        async query<T>(text: string, params?: readonly unknown[]): Promise<T[]> {
          if (slowNext && text.includes('FROM sanctions') && text.includes('SELECT kind, until')) {
            slowNext = false;
            await new Promise((r) => setTimeout(r, 150));
          }
          return db.query<T>(text, params);
        },
        exec: (script: string) => db.exec(script),
        tx: <T>(fn: (q: SqlQueryable) => Promise<T>) => db.tx(fn),
        close: () => db.close(),
      }),
    );
    const owner = await world.user(gw, 'gate-owner');
    const talker = await world.user(gw, 'gate-talker');
    await owner.create('gated');
    await owner.join('gated');
    await talker.join('gated');
    // A mute and an unmute leave the talker's cache entry invalidated: the next send asks the store.
    await owner.command('gated', '/mute gate-talker 1m');
    await owner.command('gated', '/unmute gate-talker');
    slowNext = true;
    const acks = await Promise.all(Array.from({ length: 10 }, (_, i) => talker.send('gated', `g${i}`)));
    const seqs = acks.map((a) => a.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    const page = await owner.history('gated', { after: 0, limit: 100 });
    expect(page.messages.map((m) => m.text)).toEqual(Array.from({ length: 10 }, (_, i) => `g${i}`));
  });
});

describe.each(BACKENDS)('channel ownership on %s (issue 10, item 6)', (backend) => {
  let world: World;
  let gw: Gateway;
  beforeAll(async () => {
    world = await World.create(backend);
    gw = await world.start({ PARLEY_ADMIN_TOKEN: ADMIN_TOKEN });
  });
  afterAll(() => world.close());

  it('an owner who left is still the owner: moderators cannot ban, kick or mute them; rejoining they are owner', async () => {
    const owner = await world.user(gw, 'own6');
    const mod = await world.user(gw, 'mod6');
    await owner.create('keep6');
    await owner.join('keep6');
    await mod.join('keep6');
    await owner.command('keep6', '/mod mod6');
    await owner.leave('keep6');
    for (const cmd of ['/ban own6 365d', '/kick own6', '/mute own6 1h', '/unmod own6']) {
      await expect(mod.command('keep6', cmd), cmd).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    }
    await owner.join('keep6');
    expect((await owner.members('keep6')).find((m) => m.user === 'own6')?.role).toBe('owner');
    expect(await owner.command('keep6', '/unmod mod6')).toContain('no longer a moderator');
    const audit = await world.auditLog(gw);
    expect(audit.filter((a) => a.target === 'own6')).toEqual([]);
  });

  it('/transfer hands the channel to a member: owner-only, event to clients, roles, audit, admin API', async () => {
    const owner = await world.user(gw, 'own7');
    const bob = await world.user(gw, 'bob7');
    const carol = await world.user(gw, 'carol7');
    await world.user(gw, 'dave7'); // exists, not a member
    const guest = await world.client(gw, { guestName: 'g7' });
    await owner.create('handover7');
    for (const c of [owner, bob, carol, guest]) await c.join('handover7');
    expect(await owner.command('handover7', '/help')).toContain('/transfer <user>');
    await expect(bob.command('handover7', '/transfer carol7')).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    await expect(owner.command('handover7', '/transfer g7')).rejects.toMatchObject({ code: ErrorCode.GuestNotAllowed });
    await expect(owner.command('handover7', '/transfer dave7')).rejects.toMatchObject({ code: ErrorCode.NotMember });
    await expect(owner.command('handover7', '/transfer')).rejects.toMatchObject({ code: ErrorCode.UnknownCommand });

    const seen = next(carol, 'moderation', (e: { action: string }) => e.action === 'transfer');
    expect(await owner.command('handover7', '/transfer bob7')).toContain('bob7 owns this channel now');
    expect(await seen).toMatchObject({ channel: 'handover7', action: 'transfer', target: 'bob7', actor: 'own7' });
    const roles = Object.fromEntries((await carol.members('handover7')).map((m) => [m.user, m.role]));
    expect(roles).toMatchObject({ own7: 'moderator', bob7: 'owner', carol7: 'member' });
    // The old owner moderates but no longer owns; the new owner does.
    await expect(owner.command('handover7', '/mod carol7')).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    await expect(owner.command('handover7', '/kick bob7')).rejects.toMatchObject({ code: ErrorCode.Forbidden });
    const modEvent = next(carol, 'moderation', (e: { action: string }) => e.action === 'mod');
    expect(await bob.command('handover7', '/mod carol7')).toContain('carol7 is now a moderator');
    expect(await modEvent).toMatchObject({ action: 'mod', target: 'carol7', actor: 'bob7' });
    expect(await owner.command('handover7', '/mute g7 1m')).toContain('muted g7'); // still a moderator

    const audit = await world.auditLog(gw);
    expect(audit.find((a) => a.action === 'transfer')).toMatchObject({ actor: 'own7', target: 'bob7' });
    const cid = await world.channelId('handover7');
    const { channels } = await adminGet<{ channels: { cid: number; owner: string }[] }>(gw, `/admin/channels?after=${cid - 1}&limit=1`);
    expect(channels.find((c) => c.cid === cid)?.owner).toBe('bob7');
    const bobId = (await world.channelStore().byId(cid))!.ownerId;
    const detail = await adminGet<{ name: string; channels: { cid: number; role: number }[] }>(gw, `/admin/users/${bobId}`);
    expect(detail.name).toBe('bob7');
    expect(detail.channels.find((c) => c.cid === cid)?.role).toBe(3);
  });
});

describe.each(BACKENDS)('moderation is all or nothing on %s (issue 10, item 7)', (backend) => {
  let world: World;
  let gw: Gateway;
  const armed = { on: false };
  beforeAll(async () => {
    world = await World.create(backend);
    gw = await world.start({}, (db) => failingAuditInsert(db, armed));
  });
  afterAll(() => world.close());

  it('an action whose audit row fails changes nothing, announces nothing and answers 503', async () => {
    const owner = await world.user(gw, 'own8');
    const alice = await world.user(gw, 'alice8');
    const bob = await world.user(gw, 'bob8');
    const cat = await world.user(gw, 'cat8');
    const dan = await world.user(gw, 'dan8');
    await owner.create('atomic8');
    for (const c of [owner, alice, bob, cat]) await c.join('atomic8');
    await owner.command('atomic8', '/mod bob8');
    await owner.command('atomic8', '/mute cat8');
    await owner.command('atomic8', '/ban dan8');
    const cid = await world.channelId('atomic8');
    const auditBefore = await world.auditLog(gw);
    const seenByAlice = collect(alice, 'moderation');

    armed.on = true;
    const commands = [
      '/kick alice8 bad',
      '/ban alice8 1h',
      '/mute alice8',
      '/mod alice8',
      '/unmod bob8',
      '/transfer alice8',
      '/unmute cat8',
      '/unban dan8',
    ];
    for (const cmd of commands) {
      await expect(owner.command('atomic8', cmd), cmd).rejects.toMatchObject({ code: ErrorCode.Unavailable });
    }
    await expect(gw.chat.moderation.deleteChannel(cid, 'operator')).rejects.toThrow('injected');
    armed.on = false;

    // Nothing changed: alice is still a member, connected and able to speak; roles and owner as before.
    const store = world.channelStore();
    expect(await store.role(cid, (await store.members(cid)).members.find((m) => m.user === 'alice8')!.userId)).toBe(1);
    expect(Object.fromEntries((await owner.members('atomic8')).map((m) => [m.user, m.role]))).toEqual({
      own8: 'owner',
      alice8: 'member',
      bob8: 'moderator',
      cat8: 'member',
    });
    await expect(cat.send('atomic8', 'x')).rejects.toMatchObject({ code: ErrorCode.Muted });
    await expect(dan.join('atomic8')).rejects.toMatchObject({ code: ErrorCode.Banned });
    const heard = next(owner, 'message', (m: { text: string }) => m.text === 'still here');
    await expect(alice.send('atomic8', 'still here')).resolves.toMatchObject({ seq: expect.any(Number) });
    await heard; // everything published before it has arrived too
    expect(seenByAlice).toEqual([]);
    expect(await world.auditLog(gw)).toEqual(auditBefore);
  });

  it('/kick with a reason the database refuses (U+0000) is answered 102 and changes nothing', async () => {
    const owner = await world.user(gw, 'own9');
    const alice = await world.user(gw, 'alice9');
    await owner.create('nul9');
    await owner.join('nul9');
    await alice.join('nul9');
    const seenByAlice = collect(alice, 'moderation');
    await expect(owner.command('nul9', '/kick alice9 bad\u0000reason')).rejects.toMatchObject({ code: ErrorCode.InvalidFields });
    await expect(owner.command('nul9', '/ban alice9 1h bad\u0000reason')).rejects.toMatchObject({ code: ErrorCode.InvalidFields });
    const heard = next(owner, 'message', (m: { text: string }) => m.text === 'still here');
    await expect(alice.send('nul9', 'still here')).resolves.toMatchObject({ seq: expect.any(Number) });
    await heard;
    expect(seenByAlice).toEqual([]);
    expect((await owner.members('nul9')).map((m) => m.user).sort()).toEqual(['alice9', 'own9']);
    expect((await world.auditLog(gw)).filter((a) => a.target === 'alice9')).toEqual([]);
  });
});

describe.each(BACKENDS)('caps on %s (issue 10, item 10)', (backend) => {
  let world: World;
  let gw: Gateway;
  beforeAll(async () => {
    world = await World.create(backend);
    gw = await world.start({ PARLEY_MAX_CHANNELS_PER_USER: '2', PARLEY_MAX_REACTIONS_PER_MESSAGE: '3' });
  });
  afterAll(() => world.close());

  it('a user owns at most PARLEY_MAX_CHANNELS_PER_USER channels, created or handed to them', async () => {
    const ann = await world.user(gw, 'ann10');
    const ben = await world.user(gw, 'ben10');
    await ann.create('a10-1');
    await ann.create('a10-2');
    const err = await ann.create('a10-3').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.QuotaExceeded });
    expect((err as Error).message).toContain('at most 2 channels');
    await ben.create('b10-1'); // per user
    await ann.join('a10-1');
    await ben.join('a10-1');
    expect(await ann.command('a10-1', '/transfer ben10')).toContain('ben10 owns');
    await ann.create('a10-3'); // ann owns one fewer now
    await ann.join('a10-3');
    await ben.join('a10-3');
    await expect(ann.command('a10-3', '/transfer ben10')).rejects.toMatchObject({ code: ErrorCode.QuotaExceeded });
    await expect(ben.create('b10-2')).rejects.toMatchObject({ code: ErrorCode.QuotaExceeded });
  });

  it('a message has at most PARLEY_MAX_REACTIONS_PER_MESSAGE different reactions; more people may add existing ones', async () => {
    const ann = await world.user(gw, 'ann11');
    const ben = await world.user(gw, 'ben11');
    await ann.create('r11');
    await ann.join('r11');
    await ben.join('r11');
    const { seq } = await ann.send('r11', 'react to me');
    for (const e of ['👍', '🎉', '❤️']) await ann.react('r11', seq, e);
    const err = await ben.react('r11', seq, '🔥').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.QuotaExceeded });
    expect((err as Error).message).toContain('at most 3 different reactions');
    await ben.react('r11', seq, '👍');
    await ann.unreact('r11', seq, '❤️');
    await ben.react('r11', seq, '🔥');
    const page = await ann.history('r11');
    expect(page.messages.find((m) => m.seq === seq)?.reactions).toEqual([
      { emoji: '👍', users: ['ann11', 'ben11'] },
      { emoji: '🎉', users: ['ann11'] },
      { emoji: '🔥', users: ['ben11'] },
    ]);
  });
});
