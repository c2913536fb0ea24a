import type { PresenceEntry } from '@parley/protocol';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryPresenceStore } from '../src/adapters/memory/memory-presence-store.js';
import { type PresenceAnnouncer, PresenceLease } from '../src/core/presence-lease.js';
import type { PresenceConn, PresenceStore } from '../src/ports/presence-store.js';

/**
 * PresenceLease on an in-process store: the decisions it makes after a restart, a loss of the
 * store, a reap while alive, and races with the chat core's calls. (The same paths with real
 * processes, kill -9 and a real Redis restart: presence-crash.test.ts.)
 */

const logger = pino({ level: 'silent' });

/** A store that can be wiped (like Redis restarted without persistence) or made to fail or wait. */
class TestStore {
  target = new MemoryPresenceStore();
  failJoin = false;
  gate: Promise<void> | null = null;
  readonly store: PresenceStore;
  constructor() {
    const self = this;
    this.store = new Proxy({} as PresenceStore, {
      get(_, name: keyof PresenceStore) {
        if (name === 'join' && self.failJoin) {
          return async () => {
            self.failJoin = false;
            throw new Error('store unreachable');
          };
        }
        if (name === 'reassert') self.reasserts += 1;
        if (name === 'reassert' && self.gate) {
          const gate = self.gate;
          return async (cid: number, conns: PresenceConn[]) => {
            await gate;
            return self.target.reassert(cid, conns);
          };
        }
        const f = self.target[name] as (...a: unknown[]) => unknown;
        return f.bind(self.target);
      },
    });
  }
  wipe(): void {
    this.target = new MemoryPresenceStore();
  }
  reasserts = 0;
}

interface Said {
  joins: string[];
  leaves: string[];
  states: PresenceEntry[][];
}
function announcer(): PresenceAnnouncer & { said: Said } {
  const said: Said = { joins: [], leaves: [], states: [] };
  return {
    said,
    diff: (_cid, joins, leaves) => {
      said.joins.push(...joins.map((j) => j.user));
      said.leaves.push(...leaves);
    },
    state: (_cid, page) => void said.states.push(page.members),
  };
}
const conn = (connId: string, user: string): PresenceConn => ({ connId, nodeId: 'ignored', user, guest: false });
const users = async (s: PresenceStore, cid: number) => (await s.list(cid)).map((e) => e.user).sort();
// These tests drive heartbeats by hand and look at what each one does: every beat re-asserts
// (production: every third while healthy — the cadence has its own test below).
const lease = (t: TestStore, nodeId: string, incarnation?: string, reassertEvery = 1) =>
  new PresenceLease({ store: t.store, nodeId, logger, ttlMs: 1000, retryMs: 50, reassertEvery, ...(incarnation ? { incarnation } : {}) });

describe('PresenceLease', () => {
  it('owns its entries as <nodeId>#<incarnation>; a restarted node reaps its previous life on its second heartbeat, sparing users who came back', async () => {
    const t = new TestStore();
    const old = lease(t, 'gw1', 'aaaaaaaaaaaa');
    const a = announcer();
    await old.start(a);
    old.stop();
    expect(old.owner).toBe('gw1#aaaaaaaaaaaa');
    for (const u of ['gone', 'back']) await old.store.join(1, conn(`old-${u}`, u));
    expect(await t.target.owners()).toEqual(['gw1#aaaaaaaaaaaa']);
    // killed -9; the new life starts at once under the same node id
    const fresh = lease(t, 'gw1');
    expect(fresh.owner).not.toBe(old.owner);
    const b = announcer();
    await fresh.beat();
    expect(await users(t.target, 1)).toEqual(['back', 'gone']); // not yet: clients are on their way back
    expect((await fresh.store.join(1, conn('new-back', 'back'))).first).toBe(false);
    await fresh.start(b); // the second heartbeat
    fresh.stop();
    expect(b.said).toEqual({ joins: [], leaves: ['gone'], states: [] });
    expect(await users(t.target, 1)).toEqual(['back']);
    expect(await t.target.owners()).toEqual([fresh.owner]);
  });

  it('after the store lost everything: live entries come back silently, departures wait for every node, then exactly one leave and a whole-state refresh', async () => {
    const t = new TestStore();
    const [n1, n2] = [lease(t, 'n1'), lease(t, 'n2')];
    const [a1, a2] = [announcer(), announcer()];
    await n1.start(a1);
    await n2.start(a2);
    n1.stop();
    n2.stop();
    await n1.store.join(7, conn('c1', 'alice'));
    await n2.store.join(7, conn('c2', 'alice')); // alice's second tab, on n2
    await n2.store.join(7, conn('c3', 'bob'));
    await n1.store.join(7, conn('c4', 'carol'));
    t.wipe();
    // alice closes her n1 tab before n2 has put hers back: no leave may come of it
    expect(await n1.store.remove(7, conn('c1', 'alice'))).toBe(false);
    await n1.beat();
    await n2.beat();
    expect(await users(t.target, 7)).toEqual(['alice', 'bob', 'carol']);
    expect(await n2.store.remove(7, conn('c3', 'bob'))).toBe(false); // decided once the loss settled
    expect([...a1.said.leaves, ...a2.said.leaves, ...a1.said.joins, ...a2.said.joins]).toEqual([]);
    for (const wait of [500, 600]) {
      // Heartbeats keep both alive (the lease is 1 s); the second round is past the settle time.
      await new Promise((r) => setTimeout(r, wait));
      await n1.beat();
      await n2.beat();
    }
    expect(a1.said.leaves).toEqual([]);
    expect(a2.said.leaves).toEqual(['bob']);
    expect([...a1.said.joins, ...a2.said.joins]).toEqual([]);
    expect(await users(t.target, 7)).toEqual(['alice', 'carol']);
    // Each node refreshes its own sockets' view once (n2's comes after bob's leave).
    expect(a1.said.states).toHaveLength(1);
    expect(a2.said.states.map((m) => m.map((e) => e.user).sort())).toEqual([['alice', 'carol']]);
    // Settled: removals decide at once again.
    expect(await n1.store.remove(7, conn('c4', 'carol'))).toBe(true);
  });

  it('a partial loss (one Cluster shard wiped, the lease intact) is found by the re-assert and settles the same way', async () => {
    const t = new TestStore();
    const n = lease(t, 'n');
    const a = announcer();
    await n.start(a);
    n.stop();
    await n.store.join(11, conn('s1', 'sam'));
    await n.store.join(11, conn('s2', 'tess'));
    await t.target.release(11, { ...conn('s1', 'sam'), nodeId: n.owner }); // the shard lost it
    await n.beat();
    expect(await users(t.target, 11)).toEqual(['sam', 'tess']);
    expect(await n.store.remove(11, conn('s2', 'tess'))).toBe(false); // waits for the loss to settle
    await new Promise((r) => setTimeout(r, 1050));
    await n.beat();
    expect(a.said).toEqual({ joins: [], leaves: ['tess'], states: [[{ user: 'sam', guest: false }]] });
  });

  it('a node reaped as dead while it was alive announces its users again', async () => {
    const t = new TestStore();
    const n = lease(t, 'paused');
    const a = announcer();
    await n.start(a);
    n.stop();
    await n.store.join(3, conn('p1', 'pat'));
    await n.store.join(3, conn('p2', 'pat'));
    await n.store.join(4, conn('p3', 'quinn'));
    expect(await t.target.reapNode(n.owner)).toHaveLength(2); // a survivor announced pat and quinn leaving
    // A heartbeat of ours that landed between the reaper's steps put quinn back silently.
    await t.target.reassert(4, [{ ...conn('p3', 'quinn'), nodeId: n.owner }]);
    await n.beat();
    expect(a.said.joins.sort()).toEqual(['pat', 'quinn']);
    expect(await users(t.target, 3)).toEqual(['pat']);
    expect(await t.target.remove(3, { ...conn('p1', 'pat'), nodeId: n.owner })).toBe(false); // both tabs are back
  });

  it('a join whose add failed is put in by the next heartbeat and announced then', async () => {
    const t = new TestStore();
    const n = lease(t, 'n');
    const a = announcer();
    await n.start(a);
    n.stop();
    t.failJoin = true;
    await expect(n.store.join(5, conn('x1', 'xena'))).rejects.toThrow('unreachable');
    await n.beat();
    expect(a.said.joins).toEqual(['xena']);
    expect(await users(t.target, 5)).toEqual(['xena']);
  });

  it('a healthy lease re-asserts once every third heartbeat (one store call per channel held), a suspect one at once', async () => {
    const t = new TestStore();
    const n = lease(t, 'n', undefined, 3);
    await n.start(announcer());
    n.stop();
    for (const cid of [1, 2, 3, 4]) await n.store.join(cid, conn(`c${cid}`, 'una'));
    t.reasserts = 0;
    for (let i = 0; i < 6; i++) await n.beat();
    expect(t.reasserts).toBe(2 * 4); // two of six beats, four channels each
    t.wipe(); // the store lost everything: the next beat sees a new lease and re-asserts
    t.reasserts = 0;
    await n.beat();
    expect(t.reasserts).toBe(4);
    expect(await users(t.target, 3)).toEqual(['una']);
  });

  it('a removal while its entry is being re-asserted waits for it instead of being undone by it', async () => {
    const t = new TestStore();
    const n = lease(t, 'n');
    const a = announcer();
    await n.start(a);
    n.stop();
    await n.store.join(9, conn('y1', 'yuri'));
    let open!: () => void;
    t.gate = new Promise<void>((r) => (open = r));
    const beat = n.beat();
    await new Promise((r) => setTimeout(r, 20)); // the re-assert has taken its snapshot and waits
    const left = await n.store.remove(9, conn('y1', 'yuri'));
    t.gate = null;
    open();
    await beat;
    expect(left).toBe(false);
    expect(a.said.leaves).toEqual(['yuri']); // decided right after the re-assert
    expect(await users(t.target, 9)).toEqual([]);
  });
});
