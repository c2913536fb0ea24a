import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PresenceConn, PresenceStore } from '../../src/ports/presence-store.js';

/** One presence backend shared by several nodes (e.g. one Redis, or one in-process store). */
export interface PresenceBackend {
  /** A store as one more node sees it (its own connection, where the backend has connections). */
  store(): Promise<PresenceStore>;
  close(): Promise<void>;
}
export type PresenceFactory = () => Promise<PresenceBackend>;

/** Ids unique per test, so tests can share one backend (deadNodes sees every node in it). */
const id = (base: string) => `${base}-${randomBytes(4).toString('hex')}`;
const cidBase = () => 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
const byUser = <T extends { user: string }>(xs: T[]) => [...xs].sort((a, b) => a.user.localeCompare(b.user));
const leaveKeys = (xs: { cid: number; user: string }[]) => xs.map((l) => `${l.cid}/${l.user}`).sort();

/** The PresenceStore contract (ports/presence-store.ts), run against any adapter. */
export function describePresenceStoreContract(name: string, factory: PresenceFactory): void {
  describe(`PresenceStore contract: ${name}`, () => {
    let backend: PresenceBackend;
    let s: PresenceStore;
    beforeEach(async () => {
      backend = await factory();
      s = await backend.store();
    });
    afterEach(async () => {
      await backend?.close();
    });

    const conn = (user: string, nodeId: string, guest = false): PresenceConn => ({ connId: id('conn'), nodeId, user, guest });

    it("joins on a user's first connection and leaves on the last; a second tab is neither", async () => {
      const cid = cidBase();
      const [n1, n2] = [id('node'), id('node')];
      const tab1 = conn('alice', n1);
      const tab2 = conn('alice', n2); // second tab, on another node
      expect(await s.add(cid, tab1)).toBe(true);
      expect(await s.add(cid, tab2)).toBe(false);
      expect(await s.add(cid, tab1)).toBe(false); // the same connection again is no join
      expect(await s.list(cid)).toEqual([{ user: 'alice', guest: false }]);
      expect(await s.remove(cid, tab1)).toBe(false);
      expect(await s.list(cid)).toEqual([{ user: 'alice', guest: false }]);
      expect(await s.remove(cid, tab1)).toBe(false); // already gone
      expect(await s.remove(cid, tab2)).toBe(true);
      expect(await s.list(cid)).toEqual([]);
      expect(await s.remove(cid, conn('nobody', n1))).toBe(false);
      expect(await s.add(cid, tab1)).toBe(true); // back again: a join again
    });

    it('join = add, then the list: first connection decides, members include the joiner', async () => {
      const cid = cidBase();
      const [n1, n2] = [id('node'), id('node')];
      await s.add(cid, conn('bob', n1, true));
      const tab1 = conn('alice', n1);
      expect(await s.join(cid, tab1)).toEqual({ first: true, members: expect.any(Array), online: 2 });
      const second = await s.join(cid, conn('alice', n2));
      expect(second.first).toBe(false);
      expect(byUser(second.members)).toEqual([
        { user: 'alice', guest: false },
        { user: 'bob', guest: true },
      ]);
      expect(byUser(second.members)).toEqual(byUser(await s.list(cid)));
      expect((await s.join(cid, tab1)).first).toBe(false); // the same connection again is no join
      // Joined connections leave like added ones.
      expect(await s.remove(cid, tab1)).toBe(false);
      expect(byUser((await s.join(cid + 1, conn('carol', n2))).members)).toEqual([{ user: 'carol', guest: false }]);
    });

    it('pages a crowded channel in O(page): at most max users, each once with their guest flag, and how many are online', async () => {
      const cid = cidBase();
      const node = id('node');
      const guest = (i: number) => i % 3 === 0;
      // Past 512 entries Redis keeps a real hash table (HSCAN pages it); some users have two tabs.
      for (let i = 0; i < 700; i++) {
        await s.add(cid, conn(`u${i}`, node, guest(i)));
        if (i % 7 === 0) await s.add(cid, conn(`u${i}`, node, guest(i)));
      }
      const check = (members: { user: string; guest: boolean }[], n: number) => {
        expect(members).toHaveLength(n);
        expect(new Set(members.map((m) => m.user)).size).toBe(n);
        for (const m of members) expect(m.guest).toBe(guest(Number(m.user.slice(1))));
      };
      for (const max of [1, 10, 300]) {
        const page = await s.page(cid, max);
        expect(page.online).toBe(700);
        check(page.members, max);
      }
      expect(await s.page(cid, 0)).toEqual({ members: [], online: 700 });
      const all = await s.page(cid, 1000);
      check(all.members, 700);
      expect(all.online).toBe(700);
      const joined = await s.join(cid, conn('newcomer', node), 5);
      expect(joined.first).toBe(true);
      expect(joined.online).toBe(701);
      check(
        joined.members.filter((m) => m.user !== 'newcomer'),
        joined.members.filter((m) => m.user !== 'newcomer').length,
      );
      expect(joined.members.length).toBeLessThanOrEqual(5);
      expect(await s.online(cid, ['u0', 'u699', 'newcomer', 'nobody'])).toEqual([true, true, true, false]);
      expect(await s.online(cid, [])).toEqual([]);
      // A small channel: everyone.
      await s.add(cid + 1, conn('solo', node));
      expect(await s.page(cid + 1, 10)).toEqual({ members: [{ user: 'solo', guest: false }], online: 1 });
      expect(await s.page(cid + 2, 10)).toEqual({ members: [], online: 0 });
      expect(await s.online(cid + 2, ['solo'])).toEqual([false]);
    });

    it('lists users once each with their guest flag, per channel', async () => {
      const cid = cidBase();
      const node = id('node');
      await s.add(cid, conn('alice', node));
      await s.add(cid, conn('alice', node));
      await s.add(cid, conn('guest-7', node, true));
      await s.add(cid + 1, conn('bob', node));
      expect(byUser(await s.list(cid))).toEqual([
        { user: 'alice', guest: false },
        { user: 'guest-7', guest: true },
      ]);
      expect(await s.list(cid + 1)).toEqual([{ user: 'bob', guest: false }]);
      expect(await s.list(cid + 2)).toEqual([]);
    });

    it('decides first/last atomically when many tabs of one user come and go at once', async () => {
      const cid = cidBase();
      const other = await backend.store();
      const tabs = Array.from({ length: 20 }, (_, i) => conn('carol', id(`node${i % 3}`)));
      const joins = await Promise.all(tabs.map((t, i) => (i % 2 ? other : s).add(cid, t)));
      expect(joins.filter(Boolean)).toHaveLength(1);
      const leaves = await Promise.all(tabs.map((t, i) => (i % 2 ? s : other).remove(cid, t)));
      expect(leaves.filter(Boolean)).toHaveLength(1);
      expect(await s.list(cid)).toEqual([]);
    });

    it('reports typers until their TTL lapses; clearTyping stops one at once', async () => {
      const cid = cidBase();
      expect(await s.typing(cid)).toEqual([]);
      expect(await s.setTyping(cid, 'alice', 30_000)).toEqual(['alice']);
      expect((await s.setTyping(cid, 'bob', 30_000)).sort()).toEqual(['alice', 'bob']);
      expect(await s.clearTyping(cid, 'alice')).toEqual(['bob']);
      expect(await s.typing(cid)).toEqual(['bob']);
      expect(await s.typing(cid + 1)).toEqual([]);
      expect((await s.setTyping(cid, 'dave', 100)).sort()).toEqual(['bob', 'dave']);
      await vi.waitFor(async () => expect(await s.typing(cid)).toEqual(['bob']), { timeout: 3000, interval: 20 });
      expect(await s.clearTyping(cid, 'nobody')).toEqual(['bob']);
    });

    it('renews typing: a later setTyping extends the expiry', async () => {
      const cid = cidBase();
      await s.setTyping(cid, 'erin', 100);
      await s.setTyping(cid, 'erin', 30_000);
      await s.setTyping(cid, 'frank', 50);
      await vi.waitFor(async () => expect(await s.typing(cid)).toEqual(['erin']), { timeout: 3000, interval: 20 });
    });

    it('reports a node dead once its lease lapses, not before', async () => {
      const [alive, dying] = [id('alive'), id('dying')];
      await s.heartbeat(alive, 30_000);
      await s.heartbeat(dying, 50);
      await vi.waitFor(async () => expect(await s.deadNodes()).toContain(dying), { timeout: 3000, interval: 20 });
      expect(await s.deadNodes()).not.toContain(alive);
      await s.heartbeat(dying, 30_000); // a heartbeat renews the lease
      expect(await s.deadNodes()).not.toContain(dying);
    });

    it('reaps a dead node: exactly the (channel, user) pairs left without a connection', async () => {
      const cid = cidBase();
      const [alive, dead] = [id('alive'), id('dead')];
      await s.add(cid, conn('only-dead', dead)); // two tabs, both on the dead node
      await s.add(cid, conn('only-dead', dead));
      await s.add(cid, conn('both', dead));
      await s.add(cid, conn('both', alive));
      await s.add(cid, conn('alive-only', alive, true));
      await s.add(cid + 1, conn('only-dead', dead));
      await s.heartbeat(alive, 30_000);
      await s.heartbeat(dead, 1);
      await vi.waitFor(async () => expect(await s.deadNodes()).toContain(dead), { timeout: 3000, interval: 10 });

      const leaves = await s.reapNode(dead);
      expect(leaveKeys(leaves)).toEqual([`${cid}/only-dead`, `${cid + 1}/only-dead`]);
      expect(byUser(await s.list(cid))).toEqual([
        { user: 'alive-only', guest: true },
        { user: 'both', guest: false },
      ]);
      expect(await s.list(cid + 1)).toEqual([]);
      expect(await s.deadNodes()).not.toContain(dead);
      expect(await s.reapNode(dead)).toEqual([]); // nothing twice
    });

    it("heartbeat says whether the lease was held, new, or reaped while its owner wasn't looking", async () => {
      const owner = id('node#inc');
      expect(await s.heartbeat(owner, 30_000)).toBe('new');
      expect(await s.heartbeat(owner, 30_000)).toBe('held');
      expect(await s.owners()).toContain(owner);
      // Reaped as dead (a pause past the lease): its next heartbeat learns it, once.
      await s.add(cidBase(), conn('paused', owner));
      expect(leaveKeys(await s.reapNode(owner))).toHaveLength(1);
      expect(await s.owners()).not.toContain(owner);
      expect(await s.heartbeat(owner, 30_000)).toBe('reaped');
      expect(await s.heartbeat(owner, 30_000)).toBe('held');
      // Reaping an owner without a lease records nothing.
      const never = id('never');
      await s.reapNode(never);
      expect(await s.heartbeat(never, 30_000)).toBe('new');
    });

    it('release tells the last connection, a remaining one, and a missing one apart', async () => {
      const cid = cidBase();
      const node = id('node');
      const [t1, t2] = [conn('alice', node), conn('alice', node)];
      await s.add(cid, t1);
      await s.add(cid, t2);
      expect(await s.release(cid, t1)).toBe('more');
      expect(await s.release(cid, t1)).toBe('missing');
      expect(await s.release(cid, t2)).toBe('last');
      expect(await s.release(cid, conn('nobody', node))).toBe('missing');
      expect(await s.list(cid)).toEqual([]);
    });

    it('reassert puts lost connections back once: idempotent, counted once, reapable', async () => {
      const cid = cidBase();
      const [n1, n2] = [id('node'), id('node')];
      const present = conn('alice', n1);
      await s.add(cid, present);
      // As if the store had lost these: never added (or wiped).
      const lost = [conn('alice', n1), conn('bob', n1, true), conn('bob', n1, true), conn('carol', n1)];
      const r = await s.reassert(cid, [present, ...lost]);
      expect([...r.restored].sort()).toEqual(lost.map((c) => c.connId).sort());
      expect(byUser(r.joined)).toEqual([
        { user: 'bob', guest: true },
        { user: 'carol', guest: false },
      ]);
      expect(await s.reassert(cid, [present, ...lost])).toEqual({ restored: [], joined: [] }); // again: nothing
      expect(await s.add(cid, lost[1]!)).toBe(false); // a re-asserted connection is present
      expect(byUser(await s.list(cid))).toEqual([
        { user: 'alice', guest: false },
        { user: 'bob', guest: true },
        { user: 'carol', guest: false },
      ]);
      // Counted once each: bob leaves on his second release, alice on her second.
      expect(await s.release(cid, lost[1]!)).toBe('more');
      expect(await s.release(cid, lost[2]!)).toBe('last');
      expect(await s.release(cid, present)).toBe('more');
      expect(await s.release(cid, lost[0]!)).toBe('last');
      // Re-asserted connections belong to their owner: reaping it finds them.
      await s.reassert(cid, [conn('dave', n2)]);
      expect(leaveKeys(await s.reapNode(n2))).toEqual([`${cid}/dave`]);
      expect(await s.list(cid)).toEqual([{ user: 'carol', guest: false }]);
      expect(await s.reassert(cid, [])).toEqual({ restored: [], joined: [] });
    });

    it('reassert racing adds and other re-asserts of the same user counts every connection once', async () => {
      const cid = cidBase();
      const other = await backend.store();
      const tabs = Array.from({ length: 12 }, (_, i) => conn('erin', id(`node${i % 3}`)));
      const results = await Promise.all([
        s.reassert(cid, tabs.slice(0, 8)),
        other.reassert(cid, tabs.slice(4)),
        ...tabs.slice(2, 10).map((t, i) => (i % 2 ? s : other).add(cid, t)),
      ]);
      const joined = results.slice(0, 2).flatMap((r) => (r as { joined: unknown[] }).joined).length;
      const firsts = results.slice(2).filter((x) => x === true).length;
      expect(joined + firsts).toBe(1); // one became present; everyone else found it so
      const leaves = await Promise.all(tabs.map((t) => s.release(cid, t)));
      expect(leaves.filter((x) => x === 'last')).toHaveLength(1);
      expect(leaves.filter((x) => x === 'missing')).toHaveLength(0);
    });

    it('reports each leave once when two nodes reap the same dead node at once', async () => {
      const base = cidBase();
      const dead = id('dead');
      const other = await backend.store();
      const expected: string[] = [];
      for (let c = 0; c < 4; c++) {
        for (let u = 0; u < 25; u++) {
          await s.add(base + c, conn(`user${u}`, dead, u % 5 === 0));
          if (u % 4 === 0) await s.add(base + c, conn(`user${u}`, dead)); // a second tab
          expected.push(`${base + c}/user${u}`);
        }
      }
      await s.heartbeat(dead, 1);
      const [l1, l2, l3] = await Promise.all([s.reapNode(dead), other.reapNode(dead), other.reapNode(dead)]);
      expect(leaveKeys([...l1, ...l2, ...l3])).toEqual(expected.sort());
      for (let c = 0; c < 4; c++) expect(await s.list(base + c)).toEqual([]);
    });
  });
}
