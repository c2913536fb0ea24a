import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StoreFactory, type StoreSet, uniq } from './store-set.js';

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
    async function setup() {
      const mod = (await s.users.createAccount(uniq('mod'), 'h'))!;
      const target = (await s.users.createAccount(uniq('t'), 'h'))!;
      const ch = (await s.channels.create(uniq('c'), mod.id))!;
      return { mod, target, cid: ch.cid };
    }

    it('applies a sanction that is active until it expires, with no one acting', async () => {
      const { mod, target, cid } = await setup();
      const now = Date.now();
      await s.moderation.apply({
        cid,
        targetId: target.id,
        target: target.name,
        kind: 'mute',
        until: now + 2000,
        durationMs: 2000,
        reason: 'spam',
        actor: mod.name,
      });
      expect(await s.moderation.active(cid, target.id, now)).toEqual([
        { kind: 'mute', until: now + 2000, reason: 'spam', actor: mod.name },
      ]);
      expect(await s.moderation.active(cid, target.id, now + 2000)).toEqual([]);
      expect(await s.moderation.active(cid, mod.id, now)).toEqual([]);
    });

    it('replaces an earlier sanction of the same kind and keeps kinds apart', async () => {
      const { mod, target, cid } = await setup();
      const base = { cid, targetId: target.id, target: target.name, actor: mod.name };
      await s.moderation.apply({ ...base, kind: 'mute', until: 1_000, durationMs: 1000, reason: 'a' });
      await s.moderation.apply({ ...base, kind: 'mute', until: null, durationMs: null, reason: null });
      await s.moderation.apply({ ...base, kind: 'ban', until: 5_000, durationMs: 5000, reason: 'b' });
      const active = await s.moderation.active(cid, target.id, 2_000);
      expect(active).toHaveLength(2);
      expect(active).toEqual(
        expect.arrayContaining([
          { kind: 'mute', until: null, reason: null, actor: mod.name },
          { kind: 'ban', until: 5_000, reason: 'b', actor: mod.name },
        ]),
      );
    });

    it('lifts a sanction: true when one was in force, and audits either way', async () => {
      const { mod, target, cid } = await setup();
      const lift = { cid, targetId: target.id, target: target.name, kind: 'ban' as const, actor: mod.name };
      await s.moderation.apply({ ...lift, until: null, durationMs: null, reason: 'troll' });
      expect(await s.moderation.lift(lift)).toBe(true);
      expect(await s.moderation.active(cid, target.id, Date.now())).toEqual([]);
      expect(await s.moderation.lift(lift)).toBe(false);
      const log = await s.moderation.auditLog(cid, 10);
      expect(log.map((e) => e.action)).toEqual(['unban', 'unban', 'ban']);
    });

    it('records every action with actor, target, reason, duration and time, newest first', async () => {
      const { mod, target, cid } = await setup();
      const other = await setup();
      const t0 = Date.now();
      await s.moderation.audit({ cid, action: 'kick', actor: mod.name, target: target.name, reason: 'go' });
      await s.moderation.apply({
        cid,
        targetId: target.id,
        target: target.name,
        kind: 'mute',
        until: t0 + 60_000,
        durationMs: 60_000,
        reason: 'calm down',
        actor: mod.name,
      });
      await s.moderation.audit({ cid: other.cid, action: 'kick', actor: other.mod.name, target: 'x', reason: null });
      const log = await s.moderation.auditLog(cid, 10);
      expect(log).toHaveLength(2);
      expect(log[0]).toMatchObject({
        cid,
        action: 'mute',
        actor: mod.name,
        target: target.name,
        reason: 'calm down',
        durationMs: 60_000,
      });
      expect(log[1]).toMatchObject({ action: 'kick', reason: 'go', durationMs: null });
      for (const e of log) {
        expect(e.at).toBeGreaterThanOrEqual(t0 - 1000);
        expect(e.at).toBeLessThanOrEqual(Date.now() + 1000);
      }
      expect(log[0]!.id).toBeGreaterThan(log[1]!.id);
      const all = await s.moderation.auditLog(null, 2);
      expect(all).toHaveLength(2);
      expect(all[0]).toMatchObject({ cid: other.cid, action: 'kick', target: 'x' });
    });
  });
}
