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

    it("shares one namespace between accounts and guests; a guest row is its token id's", async () => {
      const acct = uniq('acct');
      const guest = uniq('guest');
      await s.users.createAccount(acct, 'h');
      expect(await s.users.claimGuest(acct, 't1')).toBeNull();
      expect(await s.users.openGuest(acct, 't1')).toBe('account');
      // No row until claimed: the name is free.
      expect(await s.users.openGuest(guest, 't1')).toBe('free');
      const g = await s.users.claimGuest(guest, 't1');
      expect(g).toMatchObject({ name: guest, guest: true });
      // The same token id (a reconnect, another node) is the same guest; another is refused.
      expect(await s.users.claimGuest(guest, 't1')).toEqual(g);
      expect(await s.users.openGuest(guest, 't1')).toEqual(g);
      expect(await s.users.claimGuest(guest, 't2')).toBeNull();
      expect(await s.users.openGuest(guest, 't2')).toBe('taken');
      expect(await s.users.createAccount(guest, 'h')).toBeNull();
      expect(await s.users.byName(guest)).toEqual({ ...g, passwordHash: null });
      // A guest's id is not an account session.
      expect(await s.users.openAccount((g as { id: number }).id)).toBeNull();
    });

    it('one user per look-alike class: case, NFKC, I/l/1, O/0, Cyrillic and Greek homoglyphs, accents', async () => {
      const id = uniq('x').slice(2); // "<n>_<pid>": unique per test
      const alice = (await s.users.createAccount(`alice${id}`, 'h'))!;
      for (const twin of [
        `Alice${id}`,
        `ALICE${id}`,
        `aIice${id}`,
        `a1ice${id}`,
        `\u0430lice${id}`,
        `alic\u00e9${id}`,
        `\uff41lice${id}`,
      ]) {
        expect(await s.users.createAccount(twin, 'h'), twin).toBeNull();
        expect(await s.users.claimGuest(twin, 'tx'), twin).toBeNull();
        expect(await s.users.openGuest(twin, 'tx'), twin).toBe('account');
        expect(await s.users.byName(twin), twin).toMatchObject({ id: alice.id, name: `alice${id}` });
      }
      const bob = (await s.users.claimGuest(`b0b${id}`, 'tb'))!;
      expect(await s.users.createAccount(`BOB${id}`, 'h')).toBeNull();
      expect(await s.users.claimGuest(`\u0412\u041e\u0412${id}`, 'other')).toBeNull(); // Cyrillic ВОВ
      expect(await s.users.claimGuest(`\u0392\u039f\u0392${id}`, 'tb')).toEqual(bob); // Greek ΒΟΒ, same token: the same guest
      expect(await s.users.createAccount(`carol${id}`, 'h')).not.toBeNull();
    });

    it('opens many guest sessions at once without losing or doubling one', async () => {
      const twenty = Array.from({ length: 20 }, () => uniq('burst'));
      const names = [...twenty, ...twenty]; // each name twice, concurrently
      const users = await Promise.all(names.map((n) => s.users.claimGuest(n, `t-${n}`)));
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
      const old = (await s.users.claimGuest(uniq('old'), 'to'))!;
      const ch = (await s.channels.create(uniq('c'), acct.id))!;
      await s.messages.appendBatch([{ cid: ch.cid, userId: old.id, user: old.name, text: 'bye', cmid: 'x' }]);
      await s.messages.addReaction(ch.cid, 1, old.id, '👋', 20);
      expect(await s.users.reapGuests(60_000)).toBe(0);
      // Real time has to pass for "not seen for 0 ms" to hold.
      await new Promise((r) => setTimeout(r, 250));
      const fresh = (await s.users.claimGuest(uniq('fresh'), 'tf'))!;
      await s.users.touch([fresh.id]);
      expect(await s.users.reapGuests(120)).toBe(1);
      expect(await s.users.byName(old.name)).toBeNull();
      expect(await s.users.byName(fresh.name)).toMatchObject({ guest: true });
      expect(await s.users.byName(acct.name)).toMatchObject({ guest: false });
      // The name is free again, and history still shows who wrote it.
      expect(await s.users.claimGuest(old.name, 'someone-else')).not.toBeNull();
      const h = await s.messages.history(ch.cid, { before: null, after: null, limit: 10 });
      expect(h.messages.map((m) => [m.user, m.text])).toEqual([[old.name, 'bye']]);
    });

    it('touch postpones reaping (several users in one call)', async () => {
      const acct0 = (await s.users.createAccount(uniq('a'), 'h'))!;
      const g = (await s.users.claimGuest(uniq('g'), 'tg'))!;
      await new Promise((r) => setTimeout(r, 200));
      await s.users.touch([g.id, acct0.id]);
      await s.users.touch([]);
      expect(await s.users.reapGuests(150)).toBe(0);
      expect(await s.users.byName(g.name)).not.toBeNull();
    });
  });
}
