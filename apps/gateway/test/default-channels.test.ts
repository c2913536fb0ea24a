import { ErrorCode } from '@parley/client';
import { afterEach, describe, expect, it } from 'vitest';
import { World } from './harness.js';

/** PARLEY_DEFAULT_CHANNELS: a fresh server is usable by a guest; several nodes starting at once agree. */
describe('default channels', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('three gateways starting at once on one Postgres create each default channel exactly once', async () => {
    world = await World.create('postgres');
    const env = { PARLEY_DEFAULT_CHANNELS: 'general, random' };
    const [a, b, c] = await Promise.all([world.start(env), world.start(env), world.start(env)]);
    if (!a || !b || !c) throw new Error('gateways did not start');
    const guest = await world.client(b, { guestName: 'newcomer' });
    expect((await guest.list()).map((ch) => ch.name)).toEqual(['general', 'random']);
    // Guests may not create channels, but they can join and talk in a default one.
    await expect(guest.create('mine')).rejects.toMatchObject({ code: ErrorCode.GuestNotAllowed });
    await guest.join('general');
    const other = await world.client(c, { guestName: 'second' });
    await other.join('general');
    const heard = new Promise<string>((r) => other.on('message', (m) => r(m.text)));
    await guest.send('general', 'hello, anyone?');
    expect(await heard).toBe('hello, anyone?');
  });

  it('a restart keeps the existing channel (same id, same history)', async () => {
    world = await World.create('pglite');
    const gw = await world.start({ PARLEY_DEFAULT_CHANNELS: 'general' });
    const cid = await world.channelId('general');
    const guest = await world.client(gw, { guestName: 'stays' });
    await guest.join('general');
    await guest.send('general', 'before the restart');
    const again = await world.restart({ PARLEY_DEFAULT_CHANNELS: 'general' });
    expect(await world.channelId('general')).toBe(cid);
    const back = await world.client(again, { guestName: 'stays2' });
    await back.join('general');
    expect((await back.history('general')).messages.map((m) => m.text)).toEqual(['before the restart']);
  });
});
