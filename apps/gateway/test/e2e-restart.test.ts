import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/gateway.js';
import { BACKENDS, World } from './harness.js';

describe.each(BACKENDS)('story 6 on one node (%s): history and reactions survive a restart', (backend) => {
  let world: World;
  let gw: Gateway;
  beforeAll(async () => {
    world = await World.create(backend);
    gw = await world.start();
  });
  afterAll(() => world.close());

  it('three users react; after a restart history returns the same messages and reactions', async () => {
    const tokens = { ann: await world.signup(gw, 'ann'), ben: await world.signup(gw, 'ben'), cat: await world.signup(gw, 'cat') };
    const ann = await world.client(gw, { token: tokens.ann });
    const ben = await world.client(gw, { token: tokens.ben });
    const cat = await world.client(gw, { token: tokens.cat });
    await ann.create('durable');
    for (const c of [ann, ben, cat]) await c.join('durable');
    const { seq } = await ann.send('durable', 'react here');
    await ann.send('durable', 'second');
    const counts: string[] = [];
    ann.on('reaction', (r) => counts.push(`${r.user}${r.emoji}`));
    await ben.react('durable', seq, '❤️');
    await cat.react('durable', seq, '❤️');
    await ann.react('durable', seq, '😂');
    await expect.poll(() => counts.length).toBe(3);
    const before = await ann.history('durable', { limit: 50 });

    gw = await world.restart();
    const again = await world.client(gw, { token: tokens.cat });
    const { lastSeq } = await again.join('durable');
    expect(lastSeq).toBe(seq + 1);
    const after = await again.history('durable', { limit: 50 });
    expect(after).toEqual(before);
    expect(after.messages[0]?.reactions).toEqual([
      { emoji: '❤️', users: ['ben', 'cat'] },
      { emoji: '😂', users: ['ann'] },
    ]);
    expect((await again.send('durable', 'after restart')).seq).toBe(seq + 2);
  });
});
