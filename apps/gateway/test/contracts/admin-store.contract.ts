import { Role } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AdminStore } from '../../src/ports/admin-store.js';
import { type StoreFactory, type StoreSet, uniq } from './store-set.js';

/** The AdminStore contract (ports/admin-store.ts), run against any backend. */
export function describeAdminStoreContract(name: string, factory: StoreFactory, admin: (s: StoreSet) => AdminStore): void {
  describe(`AdminStore contract: ${name}`, () => {
    let s: StoreSet;
    let a: AdminStore;
    beforeEach(async () => {
      s = await factory();
      a = admin(s);
    });
    afterEach(async () => {
      await s?.close();
    });

    it('pages users by id, filters by literal name prefix and by guest', async () => {
      const p = uniq('pfx');
      const made = [];
      for (const n of ['a', 'b', 'c']) made.push(await s.users.createAccount(`${p}_${n}`, 'h'));
      made.push(await s.users.claimGuest(`${p}_guest`, 'tid'));
      await s.users.createAccount(uniq('other'), 'h');
      // '_' is a LIKE wildcard: taken literally, "<p>_" must not match "<p>x…".
      await s.users.createAccount(`${p}x`, 'h');
      const all = await a.users({ after: 0, limit: 100, prefix: `${p}_`, guest: null });
      expect(all.map((u) => u.name)).toEqual(made.map((u) => u?.name));
      expect(all[0]).toMatchObject({ id: made[0]?.id, guest: false });
      expect(all[0]?.createdAt).toBeGreaterThan(Date.now() - 60_000);
      expect(all[0]?.lastSeenAt).toBeGreaterThan(Date.now() - 60_000);
      const page1 = await a.users({ after: 0, limit: 2, prefix: `${p}_`, guest: null });
      const page2 = await a.users({ after: page1.at(-1)?.id ?? 0, limit: 2, prefix: `${p}_`, guest: null });
      expect([...page1, ...page2].map((u) => u.name)).toEqual(all.map((u) => u.name));
      expect((await a.users({ after: 0, limit: 100, prefix: `${p}_`, guest: true })).map((u) => u.name)).toEqual([`${p}_guest`]);
      expect(await a.users({ after: 0, limit: 100, prefix: `${p}_`, guest: false })).toHaveLength(3);
    });

    it('counts registered users and guests, whatever a page shows', async () => {
      const before = await a.userCounts();
      await s.users.createAccount(uniq('countme'), 'h');
      await s.users.createAccount(uniq('countme'), 'h');
      const after = await a.userCounts();
      expect(after.registered - before.registered).toBe(2);
      expect(after.guests).toBeGreaterThanOrEqual(0);
    });

    it('one user with its channels and roles; null when missing', async () => {
      const u = await s.users.createAccount(uniq('owner'), 'h');
      const other = await s.users.createAccount(uniq('other'), 'h');
      const c1 = await s.channels.create(uniq('zeta'), u!.id);
      const c2 = await s.channels.create(uniq('alpha'), other!.id);
      await s.channels.join(c2!.cid, u!.id, Role.Member);
      const d = await a.user(u!.id);
      expect(d).toMatchObject({ id: u!.id, name: u!.name, guest: false });
      expect(d?.channels).toEqual([
        { cid: c2!.cid, name: c2!.name, role: Role.Member },
        { cid: c1!.cid, name: c1!.name, role: Role.Owner },
      ]);
      expect(await a.user(987654321)).toBeNull();
    });

    it("pages a user's messages newest first across channels, with each channel's name", async () => {
      const u = await s.users.createAccount(uniq('author'), 'h');
      const other = await s.users.createAccount(uniq('noise'), 'h');
      const c1 = await s.channels.create(uniq('one'), u!.id);
      const c2 = await s.channels.create(uniq('two'), u!.id);
      const msg = (cid: number, text: string, who = u!) => ({ cid, userId: who.id, user: who.name, text, cmid: null });
      // Several messages share a ts (one batch): the cursor must still page without loss or repeat.
      await s.messages.appendBatch([msg(c1!.cid, 'm1'), msg(c2!.cid, 'm2'), msg(c1!.cid, 'x', other!), msg(c1!.cid, 'm3')]);
      await new Promise((r) => setTimeout(r, 5));
      await s.messages.appendBatch([msg(c2!.cid, 'm4'), msg(c2!.cid, 'm5')]);
      const all = await a.userMessages(u!.id, { before: null, limit: 100 });
      // One batch shares one ts: then the later channel first, then the higher seq.
      expect(all.map((m) => m.text)).toEqual(['m5', 'm4', 'm2', 'm3', 'm1']);
      expect(all[0]).toMatchObject({ cid: c2!.cid, channel: c2!.name, text: 'm5' });
      const seen: string[] = [];
      let before = null;
      for (;;) {
        const page = await a.userMessages(u!.id, { before, limit: 2 });
        if (!page.length) break;
        seen.push(...page.map((m) => m.text));
        const last = page.at(-1)!;
        before = { ts: last.ts, cid: last.cid, seq: last.seq };
      }
      expect(seen).toEqual(all.map((m) => m.text));
    });

    it('renames a user unless the name is taken; messages keep their author name', async () => {
      const u = await s.users.createAccount(uniq('old'), 'h');
      const taken = await s.users.claimGuest(uniq('taken'), 'tid');
      const c = await s.channels.create(uniq('chan'), u!.id);
      await s.messages.appendBatch([{ cid: c!.cid, userId: u!.id, user: u!.name, text: 'hi', cmid: null }]);
      expect(await a.update(u!.id, { name: taken!.name })).toBe('taken');
      // A look-alike of someone else's name is theirs too (core/names.ts); of its own, fine.
      expect(await a.update(u!.id, { name: taken!.name.toUpperCase().replace('A', '\u0410') })).toBe('taken');
      expect(await a.update(u!.id, { name: u!.name.toUpperCase() })).toMatchObject({ name: u!.name.toUpperCase() });
      const fresh = uniq('new');
      expect(await a.update(u!.id, { name: fresh })).toMatchObject({ id: u!.id, name: fresh, guest: false });
      expect(await a.update(u!.id, { name: fresh })).toMatchObject({ id: u!.id, name: fresh }); // its own name: fine
      // Each real rename ends the tokens issued before (two here; refusals and its own name do not).
      expect(await s.users.openAccount(u!.id)).toMatchObject({ tokenEpoch: 2 });
      expect(await a.update(987654321, { name: uniq('ghost') })).toBeNull();
      expect(await s.users.byName(u!.name)).toBeNull();
      expect((await s.messages.history(c!.cid, { after: 0, before: null, limit: 10 })).messages[0]?.user).toBe(u!.name);
    });

    it("a rename moves the user in every channel's members pages, which stay in name order", async () => {
      const p = uniq('roster');
      const owner = await s.users.createAccount(`${p}_b`, 'h');
      const c = await s.channels.create(uniq('chan'), owner!.id);
      for (const n of ['a', 'c', 'e']) await s.channels.join(c!.cid, (await s.users.createAccount(`${p}_${n}`, 'h'))!.id, Role.Member);
      const names = async () => (await s.channels.members(c!.cid)).members.map((m) => m.user);
      expect(await names()).toEqual([`${p}_a`, `${p}_b`, `${p}_c`, `${p}_e`]);
      await a.update(owner!.id, { name: `${p}_d` });
      expect(await names()).toEqual([`${p}_a`, `${p}_c`, `${p}_d`, `${p}_e`]);
      expect((await s.channels.members(c!.cid)).members[2]).toMatchObject({ userId: owner!.id, role: Role.Owner });
      const second = await s.channels.members(c!.cid, { after: `${p}_c`, limit: 1 });
      expect(second).toMatchObject({ members: [{ user: `${p}_d` }], more: true, total: 4 });
      await a.update(owner!.id, { passwordHash: 'h2' }); // no rename: nothing moves
      expect(await names()).toEqual([`${p}_a`, `${p}_c`, `${p}_d`, `${p}_e`]);
    });

    it("sets an account's password and bumps its token epoch; guests have none", async () => {
      const u = await s.users.createAccount(uniq('pw'), 'old-hash');
      const g = await s.users.claimGuest(uniq('pwg'), 'tid');
      expect(u?.tokenEpoch).toBe(0);
      expect(await a.update(u!.id, { passwordHash: 'new-hash' })).toMatchObject({ id: u!.id, name: u!.name });
      expect(await s.users.byName(u!.name)).toMatchObject({ passwordHash: 'new-hash', tokenEpoch: 1 });
      expect(await s.users.openAccount(u!.id)).toMatchObject({ tokenEpoch: 1 });
      expect(await a.update(g!.id, { passwordHash: 'h' })).toBe('guest');
      expect(await s.users.byName(g!.name)).toMatchObject({ passwordHash: null, tokenEpoch: 0 });
      expect(await a.update(987654321, { passwordHash: 'h' })).toBeNull();
    });

    it('deletes a user: its memberships go, its messages stay with their author name', async () => {
      const u = await s.users.createAccount(uniq('gone'), 'h');
      const owner = await s.users.createAccount(uniq('owner'), 'h');
      const c = await s.channels.create(uniq('room'), owner!.id);
      await s.channels.join(c!.cid, u!.id, Role.Member);
      await s.messages.appendBatch([{ cid: c!.cid, userId: u!.id, user: u!.name, text: 'bye', cmid: null }]);
      expect(await a.deleteUser(u!.id)).toBe(true);
      expect(await a.deleteUser(u!.id)).toBe(false);
      expect(await a.user(u!.id)).toBeNull();
      expect(await s.channels.role(c!.cid, u!.id)).toBeNull();
      expect((await s.messages.history(c!.cid, { after: 0, before: null, limit: 10 })).messages.map((m) => [m.user, m.text])).toEqual([
        [u!.name, 'bye'],
      ]);
      expect(await a.userMessages(u!.id, { before: null, limit: 10 })).toEqual([]);
    });

    it("deletes a guest: its token's id is revoked, so it cannot take the freed name back; a reaped guest can", async () => {
      const name = uniq('guestgone');
      const tid = uniq('tid');
      const g = await s.users.claimGuest(name, tid);
      expect(await s.users.openGuest(name, tid)).toMatchObject({ id: g!.id });
      expect(await a.deleteUser(g!.id)).toBe(true);
      expect(await s.users.openGuest(name, tid)).toBe('revoked');
      expect(await s.users.openGuest(uniq('elsewhere'), tid)).toBe('revoked'); // whatever name it asks for
      expect(await s.users.openGuest(name, uniq('tid'))).toBe('free'); // a new guest may take the name
      // Reaping (idle guests) revokes nothing: the guest comes back as itself while the name is free.
      const idle = uniq('idle');
      const itid = uniq('tid');
      await s.users.claimGuest(idle, itid);
      await new Promise((r) => setTimeout(r, 20));
      expect(await s.users.reapGuests(10)).toBeGreaterThan(0);
      expect(await s.users.openGuest(idle, itid)).toBe('free');
    });

    it('pages channels by id with owner, member count and last seq', async () => {
      const owner = await s.users.createAccount(uniq('own'), 'h');
      const m = await s.users.claimGuest(uniq('mem'), 'tid');
      const c1 = await s.channels.create(uniq('c1'), owner!.id);
      const c2 = await s.channels.create(uniq('c2'), owner!.id);
      await s.channels.join(c2!.cid, m!.id, Role.Guest);
      await s.messages.appendBatch([{ cid: c2!.cid, userId: m!.id, user: m!.name, text: 'x', cmid: null }]);
      const page = await a.channels({ after: c1!.cid - 1, limit: 2 });
      expect(page.map((c) => [c.cid, c.name, c.owner, c.members, c.lastSeq])).toEqual([
        [c1!.cid, c1!.name, owner!.name, 1, 0],
        [c2!.cid, c2!.name, owner!.name, 2, 1],
      ]);
      expect(page[0]?.createdAt).toBeGreaterThan(Date.now() - 60_000);
      expect(await a.channels({ after: c2!.cid, limit: 10 })).toEqual([]);
    });
  });
}
