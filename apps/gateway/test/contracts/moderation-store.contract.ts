import { Role } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuotaExceededError } from '../../src/ports/limits.js';
import { UnknownChannelError } from '../../src/ports/message-store.js';
import type { ModChange, ModContext, ModInput } from '../../src/ports/moderation-store.js';
import { type StoreFactory, type StoreSet, uniq } from './store-set.js';

const allow = () => {};

/** The ModerationStore contract (ports/moderation-store.ts), run against any backend. */
export function describeModerationStoreContract(name: string, factory: StoreFactory): void {
  describe(`ModerationStore contract: ${name}`, () => {
    let s: StoreSet;
    beforeAll(async () => {
      s = await factory();
    });
    afterAll(async () => {
      await s?.close();
    });
    const sanctionsOf = async (cid: number, userId: number, now: number) => (await s.moderation.active(cid, userId, now)).sanctions;
    async function setup() {
      const mod = (await s.users.createAccount(uniq('mod'), 'h'))!;
      const target = (await s.users.createAccount(uniq('t'), 'h'))!;
      const ch = (await s.channels.create(uniq('c'), mod.id))!;
      await s.channels.join(ch.cid, target.id, Role.Member);
      const input = (change: ModChange, over: Partial<ModInput> = {}): ModInput => ({
        cid: ch.cid,
        actorId: mod.id,
        actor: mod.name,
        targetId: target.id,
        target: target.name,
        change,
        ...over,
      });
      return { mod, target, cid: ch.cid, input };
    }

    it('applies a sanction that is active until it expires, with no one acting', async () => {
      const { mod, target, cid, input } = await setup();
      const now = Date.now();
      await s.moderation.act(input({ kind: 'mute', until: now + 2000, durationMs: 2000, reason: 'spam' }), allow);
      expect(await sanctionsOf(cid, target.id, now)).toEqual([{ kind: 'mute', until: now + 2000, reason: 'spam', actor: mod.name }]);
      expect(await sanctionsOf(cid, target.id, now + 2000)).toEqual([]);
      expect(await sanctionsOf(cid, mod.id, now)).toEqual([]);
    });

    it('replaces an earlier sanction of the same kind and keeps kinds apart; a ban also ends the membership', async () => {
      const { mod, target, cid, input } = await setup();
      await s.moderation.act(input({ kind: 'mute', until: 1_000, durationMs: 1000, reason: 'a' }), allow);
      await s.moderation.act(input({ kind: 'mute', until: null, durationMs: null, reason: null }), allow);
      expect(await s.channels.role(cid, target.id)).toBe(Role.Member);
      await s.moderation.act(input({ kind: 'ban', until: 5_000, durationMs: 5000, reason: 'b' }), allow);
      expect(await s.channels.role(cid, target.id)).toBeNull();
      const active = await sanctionsOf(cid, target.id, 2_000);
      expect(active).toHaveLength(2);
      expect(active).toEqual(
        expect.arrayContaining([
          { kind: 'mute', until: null, reason: null, actor: mod.name },
          { kind: 'ban', until: 5_000, reason: 'b', actor: mod.name },
        ]),
      );
    });

    it('lifts a sanction: changed when one was in force, and audits either way', async () => {
      const { target, cid, input } = await setup();
      await s.moderation.act(input({ kind: 'ban', until: null, durationMs: null, reason: 'troll' }), allow);
      expect(await s.moderation.act(input({ kind: 'unban' }), allow)).toEqual({ changed: true });
      expect(await sanctionsOf(cid, target.id, Date.now())).toEqual([]);
      expect(await s.moderation.act(input({ kind: 'unban' }), allow)).toEqual({ changed: false });
      const log = await s.moderation.auditLog(cid, 10);
      expect(log.map((e) => e.action)).toEqual(['unban', 'unban', 'ban']);
    });

    it('kicks (the membership goes) and changes roles, each with its audit row', async () => {
      const { target, cid, input } = await setup();
      await s.moderation.act(input({ kind: 'mod' }), allow);
      expect(await s.channels.role(cid, target.id)).toBe(Role.Moderator);
      await s.moderation.act(input({ kind: 'unmod' }), allow);
      expect(await s.channels.role(cid, target.id)).toBe(Role.Member);
      await s.moderation.act(input({ kind: 'kick', reason: 'bye' }), allow);
      expect(await s.channels.role(cid, target.id)).toBeNull();
      const log = await s.moderation.auditLog(cid, 10);
      expect(log.map((e) => [e.action, e.reason])).toEqual([
        ['kick', 'bye'],
        ['unmod', null],
        ['mod', null],
      ]);
    });

    it('records every action with actor, target, reason, duration and time, newest first', async () => {
      const { mod, target, cid, input } = await setup();
      const other = await setup();
      const t0 = Date.now();
      await s.moderation.act(input({ kind: 'kick', reason: 'go' }), allow);
      await s.moderation.act(input({ kind: 'mute', until: t0 + 60_000, durationMs: 60_000, reason: 'calm down' }), allow);
      await s.moderation.act(other.input({ kind: 'kick', reason: null }, { target: 'x' }), allow);
      const log = await s.moderation.auditLog(cid, 10);
      expect(log).toHaveLength(2);
      expect(log[0]).toMatchObject({ cid, action: 'mute', actor: mod.name, target: target.name, reason: 'calm down', durationMs: 60_000 });
      expect(log[1]).toMatchObject({ action: 'kick', reason: 'go', durationMs: null });
      for (const e of log) {
        expect(e.at).toBeGreaterThanOrEqual(t0 - 1000);
        expect(e.at).toBeLessThanOrEqual(Date.now() + 1000);
      }
      expect(log[0]!.id).toBeGreaterThan(log[1]!.id);
      const all = await s.moderation.auditLog(null, 2);
      expect(all).toHaveLength(2);
      expect(all[0]).toMatchObject({ cid: other.cid, action: 'kick', target: 'x' });
      // Paged by a cursor: the entries before the previous page's last id.
      expect(await s.moderation.auditLog(cid, 1, log[0]!.id)).toEqual([log[1]]);
      expect(await s.moderation.auditLog(cid, 10, log[1]!.id)).toEqual([]);
    });

    it('gives authorize the roles and sanctions read in the transaction; the owner is Owner after leaving', async () => {
      const { mod, target, cid, input } = await setup();
      const seen: ModContext[] = [];
      const spy = (ctx: ModContext) => void seen.push(ctx);
      await s.moderation.act(input({ kind: 'mute', until: null, durationMs: null, reason: null }), spy);
      await s.channels.leave(cid, mod.id);
      const stranger = (await s.users.createAccount(uniq('x'), 'h'))!;
      await s.moderation.act(input({ kind: 'kick', reason: null }, { actorId: target.id, targetId: mod.id, target: mod.name }), spy);
      await s.moderation.act(input({ kind: 'kick', reason: null }, { targetId: stranger.id, target: stranger.name }), spy);
      expect(seen).toEqual([
        { actorRole: Role.Owner, targetRole: Role.Member, targetMember: true, targetSanctions: [] },
        { actorRole: Role.Member, targetRole: Role.Owner, targetMember: false, targetSanctions: [] },
        { actorRole: Role.Owner, targetRole: null, targetMember: false, targetSanctions: [] },
      ]);
      const muted: ModContext[] = [];
      await s.moderation.act(input({ kind: 'unmute' }), (ctx) => void muted.push(ctx));
      expect(muted[0]?.targetSanctions).toEqual(['mute']);
    });

    it('changes nothing when authorize refuses', async () => {
      const { target, cid, input } = await setup();
      const refused = new Error('no');
      for (const change of [
        { kind: 'kick', reason: null },
        { kind: 'ban', until: null, durationMs: null, reason: null },
        { kind: 'mod' },
        { kind: 'transfer', maxOwned: 100 },
      ] as ModChange[]) {
        await expect(
          s.moderation.act(input(change), () => {
            throw refused;
          }),
        ).rejects.toBe(refused);
      }
      expect(await s.channels.role(cid, target.id)).toBe(Role.Member);
      expect(await sanctionsOf(cid, target.id, Date.now())).toEqual([]);
      expect(await s.moderation.auditLog(cid, 10)).toEqual([]);
    });

    it('is all or nothing: an audit row the database refuses undoes the whole action', async () => {
      const { mod, target, cid, input } = await setup();
      await s.moderation.act(input({ kind: 'mute', until: null, durationMs: null, reason: 'before' }), allow);
      const logBefore = await s.moderation.auditLog(cid, 10);
      // The target name goes only into the audit row, the last write: U+0000 is refused by
      // Postgres (and PGlite) itself, after the change was made in the same transaction.
      const bad = { target: `${target.name}\u0000x` };
      const changes: ModChange[] = [
        { kind: 'kick', reason: 'r' },
        { kind: 'ban', until: null, durationMs: null, reason: 'r' },
        { kind: 'mute', until: 5, durationMs: 5, reason: 'replaced?' },
        { kind: 'unmute' },
        { kind: 'mod' },
        { kind: 'transfer', maxOwned: 100 },
      ];
      for (const change of changes) {
        await expect(s.moderation.act(input(change, bad), allow), change.kind).rejects.toMatchObject({ code: '22021' });
      }
      expect(await s.channels.role(cid, target.id)).toBe(Role.Member);
      expect(await s.channels.role(cid, mod.id)).toBe(Role.Owner);
      expect((await s.channels.byId(cid))?.ownerId).toBe(mod.id);
      expect(await sanctionsOf(cid, target.id, Date.now())).toEqual([{ kind: 'mute', until: null, reason: 'before', actor: mod.name }]);
      expect(await s.moderation.auditLog(cid, 10)).toEqual(logBefore);
    });

    it('transfers ownership: the old owner stays a moderator and can no longer act as owner', async () => {
      const { mod: owner, target, cid, input } = await setup();
      const ownerOnly = (ctx: ModContext) => {
        if (ctx.actorRole !== Role.Owner) throw new Error('not the owner');
      };
      await s.moderation.act(input({ kind: 'transfer', maxOwned: 100 }), ownerOnly);
      expect((await s.channels.byId(cid))?.ownerId).toBe(target.id);
      expect(await s.channels.role(cid, target.id)).toBe(Role.Owner);
      expect(await s.channels.role(cid, owner.id)).toBe(Role.Moderator);
      const { members } = await s.channels.members(cid);
      expect(members.map((m) => [m.user, m.role]).sort()).toEqual(
        [
          [owner.name, Role.Moderator],
          [target.name, Role.Owner],
        ].sort(),
      );
      await expect(s.moderation.act(input({ kind: 'transfer', maxOwned: 100 }), ownerOnly)).rejects.toThrow('not the owner');
      expect((await s.moderation.auditLog(cid, 1))[0]).toMatchObject({ action: 'transfer', actor: owner.name, target: target.name });
    });

    it('serialises actions on one channel: of two concurrent transfers by the owner exactly one wins', async () => {
      const { mod: owner, cid, input } = await setup();
      const others = [(await s.users.createAccount(uniq('a'), 'h'))!, (await s.users.createAccount(uniq('b'), 'h'))!];
      for (const o of others) await s.channels.join(cid, o.id, Role.Member);
      const ownerOnly = (ctx: ModContext) => {
        if (ctx.actorRole !== Role.Owner) throw new Error('not the owner');
      };
      const results = await Promise.allSettled(
        others.map((o) => s.moderation.act(input({ kind: 'transfer', maxOwned: 100 }, { targetId: o.id, target: o.name }), ownerOnly)),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const ownerId = (await s.channels.byId(cid))?.ownerId;
      expect(others.map((o) => o.id)).toContain(ownerId);
      expect(await s.channels.role(cid, owner.id)).toBe(Role.Moderator);
    });

    it('refuses a transfer to a user who already owns the most channels allowed', async () => {
      const { mod: owner, target, cid, input } = await setup();
      await s.channels.create(uniq('theirs'), target.id);
      await expect(s.moderation.act(input({ kind: 'transfer', maxOwned: 1 }), allow)).rejects.toBeInstanceOf(QuotaExceededError);
      expect((await s.channels.byId(cid))?.ownerId).toBe(owner.id);
      await s.moderation.act(input({ kind: 'transfer', maxOwned: 2 }), allow);
      expect((await s.channels.byId(cid))?.ownerId).toBe(target.id);
    });

    it('kick, mute and ban bump the restriction generation (one snapshot with the sanctions); the rest do not', async () => {
      const { mod, target, cid, input } = await setup();
      const gen = async () => (await s.moderation.active(cid, target.id, Date.now())).gen;
      const g0 = await gen();
      await s.moderation.act(input({ kind: 'mod' }), allow);
      await s.moderation.act(input({ kind: 'unmod' }), allow);
      await s.moderation.act(input({ kind: 'unmute' }), allow);
      expect(await gen()).toBe(g0);
      await s.moderation.act(input({ kind: 'mute', until: null, durationMs: null, reason: null }), allow);
      const muted = await s.moderation.active(cid, target.id, Date.now());
      expect(muted.gen).toBe(g0 + 1);
      expect(muted.sanctions.map((x) => x.kind)).toEqual(['mute']);
      await s.moderation.act(input({ kind: 'kick', reason: null }), allow);
      expect(await gen()).toBe(g0 + 2);
      // A refused action bumps nothing.
      await expect(
        s.moderation.act(input({ kind: 'ban', until: null, durationMs: null, reason: null }), () => {
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      expect(await gen()).toBe(g0 + 2);
      expect(await s.moderation.standing(cid, target.id, Date.now())).toEqual({ gen: g0 + 2, sanctions: muted.sanctions, member: false });
      expect(await s.moderation.standing(cid, mod.id, Date.now())).toEqual({ gen: g0 + 2, sanctions: [], member: true });
      expect(await s.moderation.standing(cid + 1_000_000, mod.id, Date.now())).toEqual({ gen: 0, sanctions: [], member: false });
    });

    it('rejects an action on a deleted channel with UnknownChannelError and writes nothing', async () => {
      const { cid, input } = await setup();
      await s.channels.delete(cid);
      await expect(s.moderation.act(input({ kind: 'kick', reason: null }), allow)).rejects.toBeInstanceOf(UnknownChannelError);
      expect(await s.moderation.auditLog(cid, 10)).toEqual([]);
    });

    it('deletes a channel and audits it in one transaction; null when there is none', async () => {
      const { mod, cid } = await setup();
      const ch = (await s.channels.byId(cid))!;
      await s.messages.appendBatch([{ cid, userId: mod.id, user: mod.name, text: 'hi', cmid: null }]);
      await expect(s.moderation.deleteChannel(cid, 'op\u0000x')).rejects.toMatchObject({ code: '22021' });
      expect(await s.channels.byId(cid)).toEqual(ch);
      expect((await s.messages.history(cid, { before: null, after: null, limit: 10 })).messages).toHaveLength(1);
      expect(await s.moderation.deleteChannel(cid, 'operator')).toBe(ch.name);
      expect(await s.channels.byId(cid)).toBeNull();
      expect(await s.moderation.auditLog(cid, 10)).toMatchObject([{ action: 'delete', actor: 'operator', target: ch.name }]);
      expect(await s.moderation.deleteChannel(cid, 'operator')).toBeNull();
    });
  });
}
