import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuotaExceededError } from '../../src/ports/limits.js';
import { type AppendInput, StaleCheckError, UnknownChannelError } from '../../src/ports/message-store.js';
import type { User } from '../../src/ports/user-store.js';
import { type StoreFactory, type StoreSet, uniq } from './store-set.js';

/** The MessageStore contract (ports/message-store.ts), run against any backend. */
export function describeMessageStoreContract(name: string, factory: StoreFactory): void {
  describe(`MessageStore contract: ${name}`, () => {
    let s: StoreSet;
    beforeAll(async () => {
      s = await factory();
    });
    afterAll(async () => {
      await s?.close();
    });

    async function setup(users = 1) {
      const us: User[] = [];
      for (let i = 0; i < users; i++) us.push((await s.users.createAccount(uniq('u'), 'h'))!);
      const ch = (await s.channels.create(uniq('c'), us[0]!.id))!;
      const msg = (text: string, cmid: string | null = null, u = us[0]!, cid = ch.cid): AppendInput => ({
        cid,
        userId: u.id,
        user: u.name,
        text,
        cmid,
      });
      return { us, cid: ch.cid, msg };
    }

    it('gives each channel seqs 1, 2, 3 ... in array order, interleaved channels independent', async () => {
      const a = await setup();
      const b = await setup();
      const r = await s.messages.appendBatch([a.msg('a1'), b.msg('b1'), a.msg('a2'), a.msg('a3'), b.msg('b2')]);
      expect(r.map((x) => x.seq)).toEqual([1, 1, 2, 3, 2]);
      expect(r.every((x) => !x.duplicate && x.ts > 0)).toBe(true);
      const r2 = await s.messages.appendBatch([b.msg('b3'), a.msg('a4')]);
      expect(r2.map((x) => x.seq)).toEqual([3, 4]);
      expect(await s.messages.lastSeq(a.cid)).toBe(4);
      expect(await s.messages.lastSeq(b.cid)).toBe(3);
      const h = await s.messages.history(a.cid, { before: null, after: null, limit: 10 });
      expect(h.messages.map((m) => m.text)).toEqual(['a1', 'a2', 'a3', 'a4']);
      expect(h.messages[0]).toMatchObject({ cid: a.cid, seq: 1, user: a.us[0]!.name, ts: r[0]!.ts });
    });

    it('the send fence: an item checked before a kick, mute or ban in its channel fails its batch whole, whatever the size', async () => {
      const { us, cid, msg } = await setup(2);
      const other = await setup();
      const [owner, target] = us as [User, User];
      const g0 = (await s.moderation.active(cid, target.id, Date.now())).gen;
      let k = 0;
      const at = (checked: number | undefined, c = cid): AppendInput => {
        k += 1;
        const m = c === cid ? msg(`m${k}`, `c${k}`, target) : other.msg(`o${k}`, `c${k}`);
        return checked === undefined ? m : { ...m, checked };
      };
      expect(await s.messages.appendBatch([at(g0)])).toMatchObject([{ seq: 1, duplicate: false }]);
      await s.moderation.act(
        {
          cid,
          actorId: owner.id,
          actor: owner.name,
          targetId: target.id,
          target: target.name,
          change: { kind: 'mute', until: null, durationMs: null, reason: null },
        },
        () => {},
      );
      const g1 = (await s.moderation.active(cid, target.id, Date.now())).gen;
      expect(g1).toBeGreaterThan(g0);
      const run = async (label: string) => {
        for (const n of [1, 3, 6]) {
          // The stale item last, after items of another channel (the loop and the set-based path).
          const batch = [...Array.from({ length: n - 1 }, () => at(0, other.cid)), at(g0)];
          const err = await s.messages.appendBatch(batch).catch((e: unknown) => e);
          expect(err, `${label} ${n}`).toBeInstanceOf(StaleCheckError);
          expect((err as StaleCheckError).cids).toEqual([cid]);
        }
      };
      const seqs = async () => [await s.messages.lastSeq(cid), await s.messages.lastSeq(other.cid)];
      const before = await seqs();
      await run('fresh');
      // A repeated cmid turns the store to the statements that look for copies: fenced the same.
      const repeat = other.msg('again', 'rep');
      await s.messages.appendBatch([repeat]);
      expect(await s.messages.appendBatch([repeat])).toMatchObject([{ duplicate: true }]);
      const afterRepeat = await seqs();
      expect(afterRepeat).toEqual([before[0], before[1]! + 1]);
      await run('lookup');
      expect(await seqs()).toEqual(afterRepeat); // nothing of a refused batch was stored
      // Checked again at the new generation (or not fenced at all): stored.
      expect(await s.messages.appendBatch([at(g1), at(undefined), at(0, other.cid)])).toMatchObject([{ seq: 2 }, { seq: 3 }, {}]);
      expect(await s.messages.appendBatch([at(g1)])).toMatchObject([{ seq: 4 }]);
      // A missing channel is still that, checked or not.
      const missing = await s.messages.appendBatch([{ ...at(0), cid: cid + 1_000_000 }]).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(UnknownChannelError);
    });

    it('accepts an empty batch', async () => {
      expect(await s.messages.appendBatch([])).toEqual([]);
    });

    it('stores a retried cmid once: original seq and ts back, no seq consumed', async () => {
      const { cid, msg } = await setup();
      const [first] = await s.messages.appendBatch([msg('hello', 'm1')]);
      const again = await s.messages.appendBatch([msg('hello', 'm1'), msg('next', 'm2')]);
      expect(again[0]).toEqual({ seq: first!.seq, ts: first!.ts, duplicate: true });
      expect(again[1]).toMatchObject({ seq: 2, duplicate: false });
      const h = await s.messages.history(cid, { before: null, after: null, limit: 10 });
      expect(h.messages.map((m) => m.seq)).toEqual([1, 2]);
    });

    it('stores a retried cmid once when it comes alone, as most sends do', async () => {
      const { cid, msg } = await setup();
      const [first] = await s.messages.appendBatch([msg('hello', 'a1')]);
      const [again] = await s.messages.appendBatch([msg('hello', 'a1')]);
      expect(again).toEqual({ seq: first!.seq, ts: first!.ts, duplicate: true });
      const [next] = await s.messages.appendBatch([msg('next', 'a2')]);
      expect(next).toMatchObject({ seq: 2, duplicate: false });
      expect(await s.messages.lastSeq(cid)).toBe(2);
    });

    it('refuses a channel that does not exist, alone or in a batch, and stores nothing of that batch', async () => {
      const { cid, msg } = await setup();
      const missing = cid + 1_000_000;
      const alone = await s.messages.appendBatch([msg('x', 'u1', undefined, missing)]).catch((e: unknown) => e);
      expect(alone).toBeInstanceOf(UnknownChannelError);
      expect((alone as UnknownChannelError).cids).toEqual([missing]);
      const mixed = await s.messages.appendBatch([msg('a'), msg('x', null, undefined, missing)]).catch((e: unknown) => e);
      expect(mixed).toBeInstanceOf(UnknownChannelError);
      expect((mixed as UnknownChannelError).cids).toEqual([missing]);
      // A larger batch (the set-based path) names every unknown channel: the group committer
      // refuses their sends and commits the rest as one batch.
      const other = missing + 1;
      const big = await s.messages
        .appendBatch([msg('a'), msg('b', null, undefined, other), msg('c'), msg('d', null, undefined, missing), msg('e'), msg('f')])
        .catch((e: unknown) => e);
      expect(big).toBeInstanceOf(UnknownChannelError);
      expect([...(big as UnknownChannelError).cids].sort((a, b) => a - b)).toEqual([missing, other]);
      expect(await s.messages.lastSeq(cid)).toBe(0);
    });

    it('treats the same cmid twice in one batch as one message', async () => {
      const { cid, msg } = await setup();
      const r = await s.messages.appendBatch([msg('x', 'dup'), msg('y'), msg('x', 'dup')]);
      expect(r.map((x) => [x.seq, x.duplicate])).toEqual([
        [1, false],
        [2, false],
        [1, true],
      ]);
      expect(r[2]!.ts).toBe(r[0]!.ts);
      expect(await s.messages.lastSeq(cid)).toBe(2);
    });

    it('scopes cmids to (user, channel) and never dedups a null cmid', async () => {
      const a = await setup(2);
      const b = await setup();
      const r = await s.messages.appendBatch([
        a.msg('1', 'same'),
        a.msg('2', 'same', a.us[1]),
        a.msg('3', 'same', a.us[0], b.cid),
        a.msg('4'),
        a.msg('4'),
      ]);
      expect(r.map((x) => x.duplicate)).toEqual([false, false, false, false, false]);
      expect(r.map((x) => x.seq)).toEqual([1, 2, 1, 3, 4]);
    });

    it('pages history by cursor, ascending, with a `more` flag', async () => {
      const { cid, msg } = await setup();
      await s.messages.appendBatch(Array.from({ length: 25 }, (_, i) => msg(`m${i + 1}`)));
      const seqs = (h: { messages: { seq: number }[] }) => h.messages.map((m) => m.seq);
      const newest = await s.messages.history(cid, { before: null, after: null, limit: 10 });
      expect(seqs(newest)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
      expect(newest.more).toBe(true);
      const older = await s.messages.history(cid, { before: 16, after: null, limit: 10 });
      expect(seqs(older)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
      expect(older.more).toBe(true);
      const oldest = await s.messages.history(cid, { before: 6, after: null, limit: 10 });
      expect(seqs(oldest)).toEqual([1, 2, 3, 4, 5]);
      expect(oldest.more).toBe(false);
      const exact = await s.messages.history(cid, { before: 11, after: null, limit: 10 });
      expect(seqs(exact)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(exact.more).toBe(false);

      const fwd = await s.messages.history(cid, { before: null, after: 0, limit: 10 });
      expect(seqs(fwd)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(fwd.more).toBe(true);
      const tail = await s.messages.history(cid, { before: null, after: 20, limit: 10 });
      expect(seqs(tail)).toEqual([21, 22, 23, 24, 25]);
      expect(tail.more).toBe(false);
      const upToDate = await s.messages.history(cid, { before: null, after: 25, limit: 10 });
      expect(upToDate).toEqual({ messages: [], more: false });
      // `after` wins when both are given.
      const both = await s.messages.history(cid, { before: 3, after: 22, limit: 10 });
      expect(seqs(both)).toEqual([23, 24, 25]);
    });

    it('caps a page at 100 messages', async () => {
      const { cid, msg } = await setup();
      await s.messages.appendBatch(Array.from({ length: 130 }, (_, i) => msg(`m${i}`)));
      const h = await s.messages.history(cid, { before: null, after: null, limit: 1000 });
      expect(h.messages).toHaveLength(100);
      expect(h.messages[0]!.seq).toBe(31);
      expect(h.more).toBe(true);
    });

    it('returns an empty page and lastSeq 0 for a channel without messages', async () => {
      const { cid } = await setup();
      expect(await s.messages.history(cid, { before: null, after: null, limit: 50 })).toEqual({
        messages: [],
        more: false,
      });
      expect(await s.messages.lastSeq(cid)).toBe(0);
    });

    it('keeps one reaction per (message, user, emoji) and aggregates who reacted, in order', async () => {
      const { us, cid, msg } = await setup(3);
      await s.messages.appendBatch([msg('one'), msg('two'), msg('three')]);
      const [u1, u2, u3] = [us[0]!, us[1]!, us[2]!];
      expect(await s.messages.addReaction(cid, 2, u2.id, '👍', 20)).toBe(true);
      expect(await s.messages.addReaction(cid, 2, u2.id, '👍', 20)).toBe(false);
      expect(await s.messages.addReaction(cid, 2, u1.id, '🎉', 20)).toBe(true);
      expect(await s.messages.addReaction(cid, 2, u3.id, '👍', 20)).toBe(true);
      expect(await s.messages.addReaction(cid, 2, u1.id, '👍', 20)).toBe(true);
      expect(await s.messages.addReaction(cid, 3, u3.id, '❤️', 20)).toBe(true);
      expect(await s.messages.removeReaction(cid, 3, u3.id, '❤️')).toBe(true);
      expect(await s.messages.removeReaction(cid, 3, u3.id, '❤️')).toBe(false);
      const h = await s.messages.history(cid, { before: null, after: null, limit: 10 });
      expect(h.messages[0]!.reactions ?? []).toEqual([]);
      expect(h.messages[1]!.reactions).toEqual([
        { emoji: '👍', users: [u2.name, u3.name, u1.name] },
        { emoji: '🎉', users: [u1.name] },
      ]);
      expect(h.messages[2]!.reactions ?? []).toEqual([]);
    });

    it('lists who reacted in reaction order even when reactions come back to back (same clock tick), at most 20 names with the count', async () => {
      const { us, cid, msg } = await setup(30);
      await s.messages.appendBatch([msg('popular')]);
      // Newest account first: any tie broken by user id would come out reversed.
      const reacting = [...us].reverse();
      for (const u of reacting) expect(await s.messages.addReaction(cid, 1, u.id, '🔥', 20)).toBe(true);
      const h = await s.messages.history(cid, { before: null, after: null, limit: 10 });
      // At most Limits.reactionNames names, the earliest, with the count of all.
      expect(h.messages[0]!.reactions).toEqual([{ emoji: '🔥', users: reacting.slice(0, 20).map((u) => u.name), count: 30 }]);
      // The viewer's own reaction is always listed (in its place in reaction order).
      const last = reacting[29]!;
      const mine = await s.messages.history(cid, { before: null, after: null, limit: 10, viewer: last.id });
      expect(mine.messages[0]!.reactions).toEqual([{ emoji: '🔥', users: [...reacting.slice(0, 19), last].map((u) => u.name), count: 30 }]);
      // 20 or fewer: every name and no count.
      for (const u of reacting.slice(20)) await s.messages.removeReaction(cid, 1, u.id, '🔥');
      const twenty = await s.messages.history(cid, { before: null, after: null, limit: 10 });
      expect(twenty.messages[0]!.reactions).toEqual([{ emoji: '🔥', users: reacting.slice(0, 20).map((u) => u.name) }]);
    });

    it('caps the different emojis on one message, exactly, also under concurrent reactions', async () => {
      const { us, cid, msg } = await setup(4);
      await s.messages.appendBatch([msg('one'), msg('two')]);
      const [u1, u2] = [us[0]!, us[1]!];
      for (const e of ['a', 'b', 'c']) expect(await s.messages.addReaction(cid, 1, u1.id, e, 3)).toBe(true);
      const err = await s.messages.addReaction(cid, 1, u2.id, 'd', 3).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QuotaExceededError);
      expect((err as Error).message).toMatch(/at most 3 different reactions/);
      expect(await s.messages.addReaction(cid, 1, u2.id, 'a', 3)).toBe(true); // an emoji it already has
      expect(await s.messages.addReaction(cid, 1, u1.id, 'a', 3)).toBe(false); // already there: no error
      expect(await s.messages.removeReaction(cid, 1, u1.id, 'c')).toBe(true);
      expect(await s.messages.addReaction(cid, 1, u2.id, 'd', 3)).toBe(true);

      const emojis = Array.from({ length: 10 }, (_, i) => `e${i}`);
      const results = await Promise.allSettled(emojis.map((e, i) => s.messages.addReaction(cid, 2, us[i % us.length]!.id, e, 3)));
      expect(results.filter((r) => r.status === 'fulfilled' && r.value)).toHaveLength(3);
      const h = await s.messages.history(cid, { before: null, after: 1, limit: 10 });
      expect(h.messages[0]!.reactions).toHaveLength(3);
    });

    it('fences reactions like appends: one checked before a kick, mute or ban that has since committed changes nothing', async () => {
      const { us, cid, msg } = await setup(2);
      const [owner, user] = us as [User, User];
      const [m] = await s.messages.appendBatch([msg('react to me')]);
      const before = (await s.moderation.active(cid, user.id, Date.now())).gen;
      expect(await s.messages.addReaction(cid, m!.seq, user.id, '👍', 20, before)).toBe(true);
      const change = { kind: 'mute', until: null, durationMs: null, reason: null } as const;
      await s.moderation.act({ cid, actorId: owner.id, actor: owner.name, targetId: user.id, target: user.name, change }, () => {});
      await expect(s.messages.addReaction(cid, m!.seq, user.id, '🎉', 20, before)).rejects.toBeInstanceOf(StaleCheckError);
      await expect(s.messages.removeReaction(cid, m!.seq, user.id, '👍', before)).rejects.toBeInstanceOf(StaleCheckError);
      const after = (await s.moderation.active(cid, user.id, Date.now())).gen;
      expect(after).toBeGreaterThan(before);
      const reactions = async () => (await s.messages.history(cid, { before: null, after: 0, limit: 1 })).messages[0]?.reactions;
      expect(await reactions()).toEqual([{ emoji: '👍', users: [user.name] }]); // nothing changed
      // Checked again (the caller then refuses a muted user itself), or unfenced: it goes through.
      expect(await s.messages.removeReaction(cid, m!.seq, user.id, '👍', after)).toBe(true);
      expect(await s.messages.addReaction(cid, m!.seq, user.id, '🎉', 20)).toBe(true);
      expect(await reactions()).toEqual([{ emoji: '🎉', users: [user.name] }]);
    });

    it('refuses a reaction to a message that does not exist', async () => {
      const { us, cid } = await setup();
      expect(await s.messages.addReaction(cid, 99, us[0]!.id, '👍', 20)).toBe(false);
    });

    it('keeps seqs gapless and cmids unique with several nodes appending to one channel at once', async () => {
      const { us, cid } = await setup(4);
      const nodes = await Promise.all([s.peer(), s.peer(), s.peer(), s.messages]);
      const batches = 12;
      const perBatch = 40;
      const results = await Promise.all(
        nodes.map(async (store, n) => {
          const u = us[n]!;
          const out = [];
          for (let b = 0; b < batches; b++) {
            // Every batch retries the previous batch's first cmid: stored once, whichever node wins.
            const items: AppendInput[] = Array.from({ length: perBatch }, (_, i) => ({
              cid,
              userId: u.id,
              user: u.name,
              text: `${n}:${b}:${i}`,
              cmid: i === 0 ? `c${b}` : `n${n}b${b}i${i}`,
            }));
            if (b > 0) items.push({ cid, userId: u.id, user: u.name, text: 'retry', cmid: `c${b - 1}` });
            out.push(...(await store.appendBatch(items)));
          }
          return out;
        }),
      );
      const fresh = results.flat().filter((r) => !r.duplicate);
      const total = nodes.length * batches * perBatch;
      expect(fresh).toHaveLength(total);
      expect(fresh.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(results.flat().filter((r) => r.duplicate)).toHaveLength(nodes.length * (batches - 1));
      expect(await s.messages.lastSeq(cid)).toBe(total);
      let after = 0;
      let seen = 0;
      for (;;) {
        const page = await s.messages.history(cid, { before: null, after, limit: 100 });
        for (const m of page.messages) expect(m.seq).toBe(++after);
        seen += page.messages.length;
        if (!page.more) break;
      }
      expect(seen).toBe(total);
    });

    it('small batches (one statement per item) from several nodes: gapless, no deadlock, retries stored once', async () => {
      const a = await setup(4);
      const b = await setup();
      const nodes = await Promise.all([s.peer(), s.peer(), s.messages]);
      const rounds = 30;
      const results = await Promise.all(
        nodes.map(async (store, n) => {
          const u = a.us[n]!;
          const out = [];
          for (let r = 0; r < rounds; r++) {
            // Both channels in both orders: a transaction that locked them in arrival order could deadlock.
            const [x, y] = r % 2 ? [a.cid, b.cid] : [b.cid, a.cid];
            const items: AppendInput[] = [
              { cid: x, userId: u.id, user: u.name, text: `${n}:${r}:x`, cmid: `s${n}r${r}x` },
              { cid: y, userId: u.id, user: u.name, text: `${n}:${r}:y`, cmid: `s${n}r${r}y` },
            ];
            // The previous round's first item again (its channel was this round's y).
            if (r > 0) items.push({ cid: y, userId: u.id, user: u.name, text: 'retry', cmid: `s${n}r${r - 1}x` });
            out.push(...(await store.appendBatch(items)));
          }
          return out;
        }),
      );
      const all = results.flat();
      expect(all.filter((r) => r.duplicate)).toHaveLength(nodes.length * (rounds - 1));
      const total = nodes.length * rounds;
      expect(await s.messages.lastSeq(a.cid)).toBe(total);
      expect(await s.messages.lastSeq(b.cid)).toBe(total);
      for (const cid of [a.cid, b.cid]) {
        const h = await s.messages.history(cid, { before: null, after: 0, limit: 100 });
        expect(h.messages.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        expect(h.messages.some((m) => m.text === 'retry')).toBe(false);
      }
    });

    it('a deleted channel, once forgotten, has no history (caches included)', async () => {
      const { cid, msg } = await setup();
      await s.messages.appendBatch([msg('one'), msg('two')]);
      expect((await s.messages.history(cid, { before: null, after: 0, limit: 10 })).messages).toHaveLength(2);
      await s.channels.delete(cid);
      await s.messages.forgetChannel(cid);
      expect((await s.messages.history(cid, { before: null, after: 0, limit: 10 })).messages).toEqual([]);
    });
  });
}
