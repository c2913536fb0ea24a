import { encodeRequest, Op, SUBPROTOCOL } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MemoryPresenceStore } from '../src/adapters/memory/memory-presence-store.js';
import type { Gateway } from '../src/gateway.js';
import type { PresenceConn } from '../src/ports/presence-store.js';
import { World } from './harness.js';

/** Presence whose join can be held after it was issued, like a slow Redis round trip. */
class HeldPresence extends MemoryPresenceStore {
  hold: { entered: () => void; released: Promise<void> } | null = null;
  override async join(cid: number, conn: PresenceConn) {
    const h = this.hold;
    this.hold = null;
    if (h) {
      h.entered();
      await h.released; // the add lands only after this
    }
    return super.join(cid, conn);
  }
}

describe('presence converges when a connection goes away during its join', () => {
  let world: World;
  let gw: Gateway;
  const presence = new HeldPresence();
  beforeAll(async () => {
    world = await World.create('pglite');
    world.presence = presence;
    gw = await world.start();
    const owner = await world.user(gw, 'owner');
    await owner.create('lobby');
    await owner.join('lobby');
  }, 60_000);
  afterAll(async () => {
    await world?.close();
  });

  it('a socket closed while its presence add is in flight is not left online', async () => {
    let entered!: () => void;
    const inAdd = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    presence.hold = { entered, released: new Promise<void>((r) => (release = r)) };

    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws?guest=flaky`, SUBPROTOCOL);
    await new Promise((r) => ws.once('open', r));
    ws.send(encodeRequest({ op: Op.Join, rid: 1, name: 'lobby' }));
    await inAdd;
    const cid = 1; // the only channel: the owner is online in it
    expect((await presence.list(cid)).map((p) => p.user)).toEqual(['owner']);
    ws.terminate(); // gone before the add lands: the close's removal finds nothing yet
    await new Promise((r) => setTimeout(r, 100));
    release();
    await new Promise((r) => setTimeout(r, 200));
    expect((await presence.list(cid)).map((p) => p.user)).toEqual(['owner']);
  });
});
