import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/gateway.js';
import { next, World } from './harness.js';

// Two gateway nodes in one process on one in-process bus and presence store: the seams the
// Redis adapters plug into (broker moves bytes between nodes, hub fans out locally).
describe('two nodes through the Broker and PresenceStore ports', () => {
  let world: World;
  let n1: Gateway;
  let n2: Gateway;
  beforeAll(async () => {
    world = await World.create('pglite');
    n1 = await world.start();
    n2 = await world.start();
  });
  afterAll(() => world.close());

  it('messages, reactions, presence and typing cross nodes exactly once, in order', async () => {
    const a = await world.user(n1, 'alpha');
    const b = await world.user(n2, 'bravo');
    await a.create('xnode');
    await a.join('xnode');
    const joined = next(a, 'presence', (p: { type: string }) => p.type === 'diff');
    await b.join('xnode');
    expect(await joined).toMatchObject({ joins: [{ user: 'bravo' }] });
    const got: number[] = [];
    b.on('message', (m) => got.push(m.seq));
    const acks = [];
    for (let i = 0; i < 20; i++) acks.push(await a.send('xnode', `hello ${i}`));
    await expect.poll(() => got.length).toBe(20);
    expect(got).toEqual(acks.map((x) => x.seq));
    const reacted = next(a, 'reaction', (r: { user: string }) => r.user === 'bravo');
    await b.react('xnode', acks[0]!.seq, '👍');
    await reacted;
    const typing = next(a, 'typing', (t: { users: string[] }) => t.users.includes('bravo'));
    b.typing('xnode');
    await typing;
  });

  it('moderation on node 1 takes effect on node 2 at once', async () => {
    const owner = await world.user(n1, 'owner-x');
    const target = await world.user(n2, 'target-x');
    await owner.create('xmod');
    await owner.join('xmod');
    await target.join('xmod');
    await target.send('xmod', 'before');
    const started = Date.now();
    await owner.command('xmod', '/mute target-x 1m cool down');
    await expect(target.send('xmod', 'muted?')).rejects.toMatchObject({ code: 203 });
    const kicked = next(target, 'moderation', (e: { action: string }) => e.action === 'kick');
    await owner.command('xmod', '/kick target-x');
    await kicked;
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(target.send('xmod', 'x')).rejects.toMatchObject({ code: 202 });
  });

  it('a dead node (lease lapsed) is reaped by a survivor: exactly one leave per user', async () => {
    const watcher = await world.user(n1, 'watcher');
    await watcher.create('lease');
    await watcher.join('lease');
    const cid = await world.channelId('lease');
    // A node that died without cleaning up: two connections of one user stay until its lease lapses.
    await world.presence.heartbeat('ghost-node', 1);
    await world.presence.add(cid, { connId: 'g1', nodeId: 'ghost-node', user: 'ghost', guest: true });
    await world.presence.add(cid, { connId: 'g2', nodeId: 'ghost-node', user: 'ghost', guest: true });
    const leaves: string[] = [];
    watcher.on('presence', (p) => p.type === 'diff' && leaves.push(...p.leaves));
    // Both nodes run the reaper; the store hands each leave to exactly one of them.
    await expect.poll(() => leaves, { timeout: 8000 }).toEqual(['ghost']);
    expect((await world.presence.list(cid)).map((p) => p.user)).toEqual(['watcher']);
    await watcher.send('lease', 'sync'); // anything still in flight would arrive before this echo
    await expect.poll(() => leaves).toEqual(['ghost']);
  });
});
