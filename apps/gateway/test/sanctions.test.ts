import { describe, expect, it } from 'vitest';
import { SanctionCache } from '../src/core/sanctions.js';
import type { ModerationStore, Sanction } from '../src/ports/moderation-store.js';

// The node-local cache in front of the ModerationStore port (core logic; the stores themselves
// are tested on Postgres and Redis in contracts/moderation-store.contract.ts).
describe('SanctionCache', () => {
  const mute: Sanction = { kind: 'mute', until: null, reason: null, actor: 'mod' };

  it('does not keep an answer that was in flight when an invalidation arrived', async () => {
    let answer: Sanction[] = [];
    let calls = 0;
    let release: () => void = () => {};
    const store = {
      active: async () => {
        calls += 1;
        const a = answer;
        if (calls === 1) await new Promise<void>((r) => (release = r)); // read done, reply slow
        return { sanctions: a, gen: 0 };
      },
    } as unknown as ModerationStore;
    const cache = new SanctionCache(store);
    const first = cache.active(1, 7);
    await Promise.resolve();
    answer = [mute];
    cache.invalidate(1, 7); // the control message for the mute arrives while the read is in flight
    release();
    expect((await first).sanctions).toEqual([]);
    expect((await cache.active(1, 7)).sanctions).toEqual([mute]); // read again, not served the stale []
    expect(calls).toBe(2);
    expect((await cache.active(1, 7)).sanctions).toEqual([mute]); // and this one is cached
    expect(calls).toBe(2);
  });

  it("forgets a deleted channel's entries (and only those) and bumps the version", async () => {
    let calls = 0;
    const store = {
      active: async () => {
        calls += 1;
        return { sanctions: [mute], gen: 0 };
      },
    } as unknown as ModerationStore;
    const cache = new SanctionCache(store);
    await cache.active(1, 7);
    await cache.active(1, 8);
    await cache.active(11, 7); // "11:" must not match the prefix "1:"
    const v = cache.version;
    cache.invalidateChannel(1);
    expect(cache.version).not.toBe(v);
    await cache.active(11, 7);
    expect(calls).toBe(3);
    await cache.active(1, 7);
    await cache.active(1, 8);
    expect(calls).toBe(5);
  });
});

describe('SanctionCache and the send fence', () => {
  it("fences sends with the lowest generation among the channel's reads; a recheck reads the record and resets it", async () => {
    const gens = new Map<number, number>([
      [7, 3],
      [8, 5],
    ]);
    const reads: string[] = [];
    const store = {
      active: async (_: number, uid: number) => {
        reads.push(`cache ${uid}`);
        return { sanctions: [], gen: gens.get(uid) ?? 5 };
      },
      standing: async (_: number, uid: number) => {
        reads.push(`record ${uid}`);
        return { sanctions: [], gen: 6, member: true };
      },
    } as unknown as ModerationStore;
    const cache = new SanctionCache(store);
    expect(cache.gen(1)).toBe(0); // nothing read: fenced with 0 (any change since the start refuses)
    expect((await cache.active(1, 7)).gen).toBe(3);
    expect((await cache.active(1, 8)).gen).toBe(5);
    expect(cache.gen(1)).toBe(3); // the lowest: a change after user 7's read must still refuse
    expect(cache.cached(1, 8, 'mute')).toBeUndefined();
    // The fence refused a send: the channel's entries go, the sender is read from the record.
    expect(await cache.recheck(1, 8)).toEqual({ sanctions: [], gen: 6, member: true });
    expect(cache.gen(1)).toBe(6);
    expect(cache.cached(1, 7, 'mute')).toBeNull();
    // A read older than one seen (a cache filled before the change) is taken from the record instead.
    reads.length = 0;
    expect((await cache.active(1, 7)).gen).toBe(6);
    expect(reads).toEqual(['cache 7', 'record 7']);
    expect(cache.gen(1)).toBe(6);
    expect(cache.gen(2)).toBe(0);
  });
});

describe('SanctionCache memory (issue 11)', () => {
  it('sweeps expired entries, so members seen once do not keep an entry each', async () => {
    let t = 0;
    let calls = 0;
    const store = {
      active: async () => {
        calls += 1;
        return { sanctions: [], gen: 0 };
      },
    } as unknown as ModerationStore;
    const cache = new SanctionCache(store, () => t);
    for (let uid = 0; uid < 1023; uid++) await cache.active(1, uid);
    expect(live(cache)).toBe(1023);
    await cache.active(1, 5);
    expect(calls).toBe(1023); // a hit
    t = 30_000; // all lapsed ("none" entries are kept in whole seconds, rounded down)
    await cache.active(1, 5); // read again: the 1,024th insert, which sweeps first
    expect(calls).toBe(1024);
    expect(live(cache)).toBe(1);
    await cache.active(2, 1);
    expect(live(cache)).toBe(2);
  });

  it('keeps an entry with sanctions until the earliest one ends, to the ms', async () => {
    let t = 0;
    let calls = 0;
    const store = {
      active: async () => {
        calls += 1;
        return { sanctions: [{ kind: 'mute', until: 1500, reason: null, actor: 'mod' }], gen: 0 };
      },
    } as unknown as ModerationStore;
    const cache = new SanctionCache(store, () => t);
    expect(await cache.find(1, 7, 'mute')).toBeDefined();
    t = 1499;
    expect(await cache.find(1, 7, 'mute')).toBeDefined();
    expect(calls).toBe(1);
    t = 1500;
    await cache.find(1, 7, 'mute');
    expect(calls).toBe(2);
  });
});

/** Entries in the cache, for the memory tests only. */
const live = (cache: SanctionCache) =>
  [...(cache as unknown as { entries: Map<number, Map<number, unknown>> }).entries.values()].reduce((n, m) => n + m.size, 0);
