import { Role } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuotaExceededError } from '../../src/ports/limits.js';
import { UnknownChannelError } from '../../src/ports/message-store.js';
import { type StoreFactory, type StoreSet, uniq } from './store-set.js';

/** The ChannelStore contract (ports/channel-store.ts), run against any backend. */
export function describeChannelStoreContract(name: string, factory: StoreFactory): void {
  describe(`ChannelStore contract: ${name}`, () => {
    let s: StoreSet;
    beforeAll(async () => {
      s = await factory();
    });
    afterAll(async () => {
      await s?.close();
    });
    const user = async () => (await s.users.createAccount(uniq('u'), 'h'))!;

    it('creates a channel with a unique name; its creator is the Owner', async () => {
      const owner = await user();
      const name = uniq('general');
      const ch = await s.channels.create(name, owner.id);
      expect(ch).toMatchObject({ name, ownerId: owner.id });
      expect(await s.channels.create(name, owner.id)).toBeNull();
      expect(await s.channels.byName(name)).toEqual(ch);
      expect(await s.channels.byId(ch!.cid)).toEqual(ch);
      expect(await s.channels.role(ch!.cid, owner.id)).toBe(Role.Owner);
      expect(await s.channels.byName(uniq('nope'))).toBeNull();
      expect(await s.channels.byId(987654321)).toBeNull();
    });

    it('joins idempotently, keeping an existing role; leave removes the membership', async () => {
      const owner = await user();
      const u = await user();
      const ch = (await s.channels.create(uniq('c'), owner.id))!;
      expect(await s.channels.role(ch.cid, u.id)).toBeNull();
      expect(await s.channels.join(ch.cid, u.id, Role.Member)).toBe(Role.Member);
      expect(await s.channels.join(ch.cid, u.id, Role.Member)).toBe(Role.Member);
      expect(await s.channels.join(ch.cid, owner.id, Role.Member)).toBe(Role.Owner);
      await s.channels.setRole(ch.cid, u.id, Role.Moderator);
      expect(await s.channels.join(ch.cid, u.id, Role.Member)).toBe(Role.Moderator);
      await s.channels.leave(ch.cid, u.id);
      expect(await s.channels.role(ch.cid, u.id)).toBeNull();
      await s.channels.leave(ch.cid, u.id);
    });

    it("ownership is the channel's: an owner who leaves stays the owner and is Owner again on rejoining", async () => {
      const owner = await user();
      const u = await user();
      const ch = (await s.channels.create(uniq('c'), owner.id))!;
      await s.channels.join(ch.cid, u.id, Role.Member);
      await s.channels.leave(ch.cid, owner.id);
      expect(await s.channels.role(ch.cid, owner.id)).toBe(Role.Owner);
      expect((await s.channels.byId(ch.cid))?.ownerId).toBe(owner.id);
      expect((await s.channels.members(ch.cid)).members.map((m) => m.user)).toEqual([u.name]);
      expect(await s.channels.join(ch.cid, owner.id, Role.Member)).toBe(Role.Owner);
      expect((await s.channels.members(ch.cid)).members).toEqual(
        expect.arrayContaining([{ userId: owner.id, user: owner.name, role: Role.Owner }]),
      );
      // A membership role never grants ownership.
      await s.channels.setRole(ch.cid, u.id, Role.Owner);
      expect(await s.channels.role(ch.cid, u.id)).toBe(Role.Moderator);
    });

    it('caps the channels one user owns, also under concurrent creates', async () => {
      const owner = await user();
      const other = await user();
      const a = (await s.channels.create(uniq('q'), owner.id, 2))!;
      expect(await s.channels.create(uniq('q'), owner.id, 2)).not.toBeNull();
      const err = await s.channels.create(uniq('q'), owner.id, 2).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QuotaExceededError);
      expect((err as Error).message).toMatch(/at most 2 channels/);
      expect(await s.channels.create(uniq('q'), other.id, 2)).not.toBeNull();
      await s.channels.delete(a.cid);
      expect(await s.channels.create(uniq('q'), owner.id, 2)).not.toBeNull();

      const racer = await user();
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => s.channels.create(uniq('race'), racer.id, 3)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(QuotaExceededError);
    });

    it('lists members with names and roles', async () => {
      const owner = await user();
      const g = (await s.users.claimGuest(uniq('g'), 'tid'))!;
      const ch = (await s.channels.create(uniq('c'), owner.id))!;
      await s.channels.join(ch.cid, g.id, Role.Guest);
      const { members } = await s.channels.members(ch.cid);
      expect(members).toHaveLength(2);
      expect(members).toEqual(
        expect.arrayContaining([
          { userId: owner.id, user: owner.name, role: Role.Owner },
          { userId: g.id, user: g.name, role: Role.Guest },
        ]),
      );
    });

    it('lists channels by name with persisted member counts', async () => {
      const owner = await user();
      const u = await user();
      const prefix = uniq('list');
      const b = (await s.channels.create(`${prefix}_b`, owner.id))!;
      const a = (await s.channels.create(`${prefix}_a`, owner.id))!;
      await s.channels.join(b.cid, u.id, Role.Member);
      const mine = (await s.channels.list({ prefix })).channels;
      expect(mine).toEqual([
        { cid: a.cid, name: `${prefix}_a`, members: 1 },
        { cid: b.cid, name: `${prefix}_b`, members: 2 },
      ]);
    });

    it('pages the list by name: a cursor, a limit, a prefix, and whether more follow', async () => {
      const owner = await user();
      const prefix = uniq('page');
      for (const k of ['c', 'a', 'e', 'b', 'd']) await s.channels.create(`${prefix}_${k}`, owner.id);
      const names = (p: { channels: { name: string }[] }) => p.channels.map((c) => c.name.slice(prefix.length + 1));
      const first = await s.channels.list({ prefix, limit: 2 });
      expect([names(first), first.more]).toEqual([['a', 'b'], true]);
      const second = await s.channels.list({ prefix, limit: 2, after: first.channels.at(-1)!.name });
      expect([names(second), second.more]).toEqual([['c', 'd'], true]);
      const last = await s.channels.list({ prefix, limit: 2, after: second.channels.at(-1)!.name });
      expect([names(last), last.more]).toEqual([['e'], false]);
      // A prefix is matched literally (no LIKE patterns), and a page is never above 100.
      expect((await s.channels.list({ prefix: `${prefix}%` })).channels).toEqual([]);
      expect((await s.channels.list({ limit: 10_000 })).channels.length).toBeLessThanOrEqual(100);
    });

    it('pages the members by name: a cursor, a limit, whether more follow and how many in all; a page is never above 200', async () => {
      const owner = await user();
      const ch = (await s.channels.create(uniq('mp'), owner.id))!;
      const others = [await user(), await user(), await user(), await user()];
      for (const u of others) await s.channels.join(ch.cid, u.id, Role.Member);
      const all = [owner, ...others].map((u) => u.name);
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await s.channels.members(ch.cid, { after, limit: 2 });
        expect(page.total).toBe(5);
        expect(page.members.length).toBeLessThanOrEqual(2);
        seen.push(...page.members.map((m) => m.user));
        if (!page.more) break;
        after = page.members.at(-1)!.user;
      }
      // Each once (the order is the database's collation of names).
      expect(seen.slice().sort()).toEqual(all.sort());
      expect(await s.channels.members(ch.cid, { limit: 10_000 })).toMatchObject({ more: false, total: 5 });
      const big = (await s.channels.create(uniq('mp'), owner.id))!;
      for (let i = 0; i < 205; i++) await s.channels.join(big.cid, (await user()).id, Role.Member);
      const first = await s.channels.members(big.cid, { limit: 10_000 });
      expect([first.members.length, first.more, first.total]).toEqual([200, true, 206]);
    });

    it('deletes a channel with its memberships and history; the name is free again', async () => {
      const owner = await user();
      const name = uniq('gone');
      const ch = (await s.channels.create(name, owner.id))!;
      await s.messages.appendBatch([{ cid: ch.cid, userId: owner.id, user: owner.name, text: 'hi', cmid: null }]);
      await s.channels.delete(ch.cid);
      expect(await s.channels.byId(ch.cid)).toBeNull();
      expect(await s.channels.role(ch.cid, owner.id)).toBeNull();
      expect((await s.messages.history(ch.cid, { before: null, after: null, limit: 10 })).messages).toEqual([]);
      const again = (await s.channels.create(name, owner.id))!;
      expect(again.cid).not.toBe(ch.cid);
      // A join that looked the channel up before it went is refused with UnknownChannelError.
      await expect(s.channels.join(ch.cid, owner.id, Role.Member)).rejects.toBeInstanceOf(UnknownChannelError);
    });
  });
}
