import { ErrorCode, encodeRequest, Op, SUBPROTOCOL } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MemoryPresenceStore } from '../src/adapters/memory/memory-presence-store.js';
import type { Gateway } from '../src/gateway.js';
import type { PresenceConn } from '../src/ports/presence-store.js';
import { World } from './harness.js';

/** A point a store call stops at until released: `hold` goes to the store, the test awaits `reached`. */
interface Hold {
  entered: () => void;
  released: Promise<void>;
}
function holdPoint(): { hold: Hold; reached: Promise<void>; release: () => void } {
  let entered!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((r) => (entered = r));
  const released = new Promise<void>((r) => (release = r));
  return { hold: { entered, released }, reached, release };
}

/** Presence whose join can be held after it was issued, like a slow Redis round trip. */
class HeldPresence extends MemoryPresenceStore {
  hold: Hold | null = null;
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

// Races around a join: what must hold when something happens while a join is half done.
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
    const { hold, reached: inAdd, release } = holdPoint();
    presence.hold = hold;

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

  it('a channel deleted while a join is in flight: the join answers NotFound and leaves nothing behind', async () => {
    const owner = world.clients[0]!;
    await owner.create('doomed');
    await owner.join('doomed');
    const cid = await world.channelId('doomed');
    const { hold, reached: inAdd, release } = holdPoint();
    presence.hold = hold;
    const late = await world.client(gw, { guestName: 'late' });
    const joining = late.join('doomed').then(
      () => 'joined',
      (e: { code?: number }) => e.code,
    );
    await inAdd; // member, subscribed, its presence add in flight
    await gw.chat.moderation.deleteChannel(cid, 'operator');
    release();
    expect(await joining).toBe(ErrorCode.NotFound);
    expect(gw.chat.hub.localMembers(cid).size).toBe(0);
    expect(await presence.list(cid)).toEqual([]);
  });
});

describe('a ban or kick made on another node while a join is in flight', () => {
  let world: World;
  let a: Gateway;
  let b: Gateway;
  let hold: Hold | null = null;
  beforeAll(async () => {
    world = await World.create('pglite');
    a = await world.start();
    // Node B's membership inserts can be held: the join has passed its ban check, and its socket
    // is not in the channel yet, so the ban's kick (from node A) cannot find it.
    b = await world.start({}, (db) => ({
      ...db,
      kind: db.kind,
      async query<T>(text: string, params?: readonly unknown[]): Promise<T[]> {
        const h = text.includes('INSERT INTO memberships') ? hold : null;
        if (h) {
          hold = null;
          h.entered();
          await h.released;
        }
        return db.query<T>(text, params);
      },
      exec: (script) => db.exec(script),
      tx: (fn) => db.tx(fn),
      close: async () => {},
    }));
    const owner = await world.user(a, 'boss');
    await owner.create('arena');
    await owner.join('arena');
  }, 60_000);
  afterAll(async () => {
    await world?.close();
  });

  it.each([
    ['/ban troll spam', 'troll', ErrorCode.Banned],
    ['/kick troll2 flooding', 'troll2', ErrorCode.NotMember],
  ])('%s still keeps them out: the join re-checks and is refused', async (command, guest, code) => {
    const owner = world.clients[0]!;
    const target = await world.client(b, { guestName: guest });
    const point = holdPoint();
    hold = point.hold;
    const joining = target.join('arena').then(
      () => 'joined',
      (e: { code?: number }) => e.code,
    );
    await point.reached;
    await owner.command('arena', command);
    point.release();
    expect(await joining).toBe(code);
    const members = await owner.members('arena');
    expect(members.map((m) => m.user)).not.toContain(guest);
  });

  it("the user leaving from a tab on node A while its other tab's join on node B is inserting: NotMember, not a member", async () => {
    const owner = world.clients[0]!;
    const token = await world.signup(a, 'two-tabs');
    const [tabA, tabB] = [await world.client(a, { token }), await world.client(b, { token })];
    await tabA.join('arena');
    const point = holdPoint();
    hold = point.hold;
    const joining = tabB.join('arena').then(
      () => 'joined',
      (e: { code?: number }) => e.code,
    );
    await point.reached;
    await tabA.leave('arena');
    point.release();
    expect(await joining).toBe(ErrorCode.NotMember);
    expect((await owner.members('arena')).map((m) => m.user)).not.toContain('two-tabs');
    expect(b.chat.hub.localMembers(await world.channelId('arena')).size).toBe(0);
  });

  it('a channel deleted (on node A) while a join on node B is inserting its membership: NotFound', async () => {
    const owner = world.clients[0]!;
    await owner.create('arena2');
    const cid = await world.channelId('arena2');
    const target = await world.client(b, { guestName: 'latecomer' });
    const point = holdPoint();
    hold = point.hold;
    const joining = target.join('arena2').then(
      () => 'joined',
      (e: { code?: number }) => e.code,
    );
    await point.reached;
    await a.chat.moderation.deleteChannel(cid, 'operator');
    point.release();
    expect(await joining).toBe(ErrorCode.NotFound);
    expect(b.chat.hub.localMembers(cid).size).toBe(0);
  });
});
