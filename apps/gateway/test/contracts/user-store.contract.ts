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

    it('creates accounts with unique names and finds them by name (with hash) and id', async () => {
      const name = uniq('alice');
      const u = await s.users.createAccount(name, 'argon2id$hash');
      expect(u).toMatchObject({ name, guest: false });
      expect(await s.users.createAccount(name, 'other')).toBeNull();
      expect(await s.users.byName(name)).toEqual({ ...u, passwordHash: 'argon2id$hash' });
      expect(await s.users.byId(u!.id)).toEqual(u);
      expect(await s.users.byName(uniq('nobody'))).toBeNull();
      expect(await s.users.byId(987654321)).toBeNull();
    });

    it('shares one namespace between accounts and guests', async () => {
      const acct = uniq('acct');
      const guest = uniq('guest');
      await s.users.createAccount(acct, 'h');
      expect(await s.users.createGuest(acct)).toBeNull();
      const g = await s.users.createGuest(guest);
      expect(g).toMatchObject({ name: guest, guest: true });
      expect(await s.users.createGuest(guest)).toBeNull();
      expect(await s.users.createAccount(guest, 'h')).toBeNull();
      expect(await s.users.byName(guest)).toEqual({ ...g, passwordHash: null });
    });

    it('reaps only guests not seen for the given time; their messages keep the author name', async () => {
      const acct = (await s.users.createAccount(uniq('acct'), 'h'))!;
      const old = (await s.users.createGuest(uniq('old')))!;
      const ch = (await s.channels.create(uniq('c'), acct.id))!;
      await s.messages.appendBatch([{ cid: ch.cid, userId: old.id, user: old.name, text: 'bye', cmid: 'x' }]);
      await s.messages.addReaction(ch.cid, 1, old.id, '👋');
      expect(await s.users.reapGuests(60_000)).toBe(0);
      // Real time has to pass for "not seen for 0 ms" to hold.
      await new Promise((r) => setTimeout(r, 250));
      const fresh = (await s.users.createGuest(uniq('fresh')))!;
      await s.users.touch(fresh.id);
      expect(await s.users.reapGuests(120)).toBe(1);
      expect(await s.users.byId(old.id)).toBeNull();
      expect(await s.users.byId(fresh.id)).toMatchObject({ guest: true });
      expect(await s.users.byId(acct.id)).toMatchObject({ guest: false });
      // The name is free again, and history still shows who wrote it.
      expect(await s.users.createGuest(old.name)).not.toBeNull();
      const h = await s.messages.history(ch.cid, { before: null, after: null, limit: 10 });
      expect(h.messages.map((m) => [m.user, m.text])).toEqual([[old.name, 'bye']]);
    });

    it('touch postpones reaping', async () => {
      const g = (await s.users.createGuest(uniq('g')))!;
      await new Promise((r) => setTimeout(r, 200));
      await s.users.touch(g.id);
      expect(await s.users.reapGuests(150)).toBe(0);
      expect(await s.users.byId(g.id)).not.toBeNull();
    });
  });
}
