import { ErrorCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/gateway.js';
import { BACKENDS, next, World } from './harness.js';

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
