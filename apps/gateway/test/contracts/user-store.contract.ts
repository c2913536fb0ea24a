import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type StoreFactory, type StoreSet, uniq } from './store-set.js';

/** The UserStore contract (ports/user-store.ts), run against any backend. */
export function describeUserStoreContract(name: string, factory: StoreFactory): void {
  describe(`UserStore contract: ${name}`, () => {
    // A fresh store per test: reapGuests acts on every guest in the store.
    let s: StoreSet;
    beforeEach(async () => {
      s = await factory();
    });
    afterEach(async () => {
      await s?.close();
    });

    it('creates accounts with unique names, finds them by name (with hash) and opens their sessions by id', async () => {
      const name = uniq('alice');
      const u = await s.users.createAccount(name, 'argon2id$hash');
      expect(u).toMatchObject({ name, guest: false });
      expect(await s.users.createAccount(name, 'other')).toBeNull();
      expect(await s.users.byName(name)).toEqual({ ...u, passwordHash: 'argon2id$hash' });
      expect(await s.users.openAccount(u!.id)).toEqual(u);
      expect(await s.users.byName(uniq('nobody'))).toBeNull();
      expect(await s.users.openAccount(987654321)).toBeNull();
    });

    it('shares one namespace between accounts and guests; a guest name opened again is the same guest', async () => {
      const acct = uniq('acct');
      const guest = uniq('guest');
      await s.users.createAccount(acct, 'h');
      expect(await s.users.openGuest(acct)).toBeNull();
      const g = await s.users.openGuest(guest);
      expect(g).toMatchObject({ name: guest, guest: true });
      expect(await s.users.openGuest(guest)).toEqual(g);
      expect(await s.users.createAccount(guest, 'h')).toBeNull();
      expect(await s.users.byName(guest)).toEqual({ ...g, passwordHash: null });
      // A guest's id is not an account session.
      expect(await s.users.openAccount(g!.id)).toBeNull();
    });

    it('opens many guest sessions at once without losing or doubling one', async () => {
      const twenty = Array.from({ length: 20 }, () => uniq('burst'));
      const names = [...twenty, ...twenty]; // each name twice, concurrently
      const users = await Promise.all(names.map((n) => s.users.openGuest(n)));
      const byName = new Map<string, number>();
      for (const [i, u] of users.entries()) {
        expect(u).toMatchObject({ name: names[i], guest: true });
        const seen = byName.get(u!.name);
        if (seen !== undefined) expect(u!.id).toBe(seen);
        byName.set(u!.name, u!.id);
      }
      expect(byName.size).toBe(20);
    });

    it('reaps only guests not seen for the given time; their messages keep the author name', async () => {
      const acct = (await s.users.createAccount(uniq('acct'), 'h'))!;
      const old = (await s.users.openGuest(uniq('old')))!;
      const ch = (await s.channels.create(uniq('c'), acct.id))!;
      await s.messages.appendBatch([{ cid: ch.cid, userId: old.id, user: old.name, text: 'bye', cmid: 'x' }]);
      await s.messages.addReaction(ch.cid, 1, old.id, '👋', 20);
      expect(await s.users.reapGuests(60_000)).toBe(0);
      // Real time has to pass for "not seen for 0 ms" to hold.
      await new Promise((r) => setTimeout(r, 250));
      const fresh = (await s.users.openGuest(uniq('fresh')))!;
      await s.users.touch([fresh.id]);
      expect(await s.users.reapGuests(120)).toBe(1);
      expect(await s.users.byName(old.name)).toBeNull();
      expect(await s.users.byName(fresh.name)).toMatchObject({ guest: true });
      expect(await s.users.byName(acct.name)).toMatchObject({ guest: false });
      // The name is free again, and history still shows who wrote it.
      expect(await s.users.openGuest(old.name)).not.toBeNull();
      const h = await s.messages.history(ch.cid, { before: null, after: null, limit: 10 });
      expect(h.messages.map((m) => [m.user, m.text])).toEqual([[old.name, 'bye']]);
    });

    it('touch postpones reaping (several users in one call)', async () => {
      const acct0 = (await s.users.createAccount(uniq('a'), 'h'))!;
      const g = (await s.users.openGuest(uniq('g')))!;
      await new Promise((r) => setTimeout(r, 200));
      await s.users.touch([g.id, acct0.id]);
      await s.users.touch([]);
      expect(await s.users.reapGuests(150)).toBe(0);
      expect(await s.users.byName(g.name)).not.toBeNull();
    });
  });
}
