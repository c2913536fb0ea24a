import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../src/core/group-commit.js';
import { type Appended, type AppendInput, type MessageStore, StaleCheckError, UnknownChannelError } from '../src/ports/message-store.js';

// The GroupCommitter is core logic between the send path and the MessageStore port; here it runs
// against a port fake that answers after random delays (as a pool of Postgres connections would),
// so any ordering the committer does not enforce itself shows up. The real store's contract is
// tested on Postgres and PGlite in contracts/message-store.contract.ts.
class SlowStore implements Pick<MessageStore, 'appendBatch'> {
  readonly seqs = new Map<number, number>();
  readonly batches: number[] = [];
  /** @param named whether the failure names the unknown channel, as the SQL store's does. */
  constructor(
    private readonly bad: number,
    private readonly named = false,
  ) {}
  async appendBatch(items: readonly AppendInput[]): Promise<Appended[]> {
    this.batches.push(items.length);
    await new Promise((r) => setTimeout(r, Math.random() * 5));
    // One transaction: a bad channel fails the whole batch, nothing is stored.
    if (items.some((i) => i.cid === this.bad)) {
      throw this.named ? new UnknownChannelError([this.bad]) : new Error(`unknown channel ${this.bad}`);
    }
    return items.map((i) => {
      const seq = (this.seqs.get(i.cid) ?? 0) + 1;
      this.seqs.set(i.cid, seq);
      return { seq, ts: 0, duplicate: false };
    });
  }
}

const item = (cid: number, n: number): AppendInput => ({ cid, userId: 1, user: 'u', text: String(n), cmid: null });

describe('GroupCommitter', () => {
  it('the send fence: stale sends are checked again, refused or sent again with the rest, in order, before the next batch', async () => {
    // Channel 5's restriction generation is 2: items checked below it fail their batch whole.
    const committed: string[] = [];
    const store = {
      async appendBatch(items: readonly AppendInput[]): Promise<Appended[]> {
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        const stale = items.filter((i) => i.cid === 5 && (i.checked ?? 99) < 2).map((i) => i.cid);
        if (stale.length) throw new StaleCheckError([...new Set(stale)]);
        committed.push(items.map((i) => i.text).join(','));
        return items.map(() => ({ seq: 1, ts: 0, duplicate: false }));
      },
    };
    const rechecked: string[] = [];
    const gc = new GroupCommitter(store as unknown as MessageStore, {
      maxBatch: 100,
      recheck: async (it) => {
        rechecked.push(it.text);
        if (it.userId === 66) throw new Error('muted');
        it.checked = 2;
      },
    });
    const send = (cid: number, text: string, userId = 1) =>
      gc.append({ cid, userId, user: 'u', text, cmid: null, checked: 1 }).then(
        () => `ok ${text}`,
        (e: Error) => `refused ${text}: ${e.message}`,
      );
    const outcomes = await Promise.all([send(4, 'a'), send(5, 'b'), send(5, 'c', 66), send(4, 'd'), send(5, 'e')]);
    expect(outcomes).toEqual(['ok a', 'ok b', 'refused c: muted', 'ok d', 'ok e']);
    expect(rechecked).toEqual(['b', 'c', 'e']); // only channel 5's
    expect(committed).toEqual(['a,b,d,e']);
    // A recheck that cannot catch up (the generation keeps moving) refuses after a few rounds.
    const stuck = new GroupCommitter(store as unknown as MessageStore, { maxBatch: 100, recheck: async () => {} });
    await expect(stuck.append({ cid: 5, userId: 1, user: 'u', text: 'x', cmid: null, checked: 0 })).rejects.toBeInstanceOf(StaleCheckError);
    // Without a recheck, a stale send is refused.
    const none = new GroupCommitter(store as unknown as MessageStore, { maxBatch: 100 });
    await expect(none.append({ cid: 5, userId: 1, user: 'u', text: 'y', cmid: null, checked: 0 })).rejects.toBeInstanceOf(StaleCheckError);
  });

  it("sends the next batch to the store before settling the previous one's sends, and still in order", async () => {
    const events: string[] = [];
    let release = (): void => {};
    let seq = 0;
    const store = {
      async appendBatch(items: readonly AppendInput[]): Promise<Appended[]> {
        events.push(`commit ${items.map((i) => i.text).join(',')}`);
        if (events.length === 1) await new Promise<void>((r) => (release = r));
        return items.map(() => ({ seq: ++seq, ts: 0, duplicate: false }));
      },
    };
    const gc = new GroupCommitter(store as unknown as MessageStore, { maxBatch: 100 });
    const settled = (p: Promise<Appended>) => p.then((a) => events.push(`settled seq ${a.seq}`));
    const first = settled(gc.append(item(1, 0)));
    while (events.length === 0) await new Promise((r) => setImmediate(r));
    const rest = [settled(gc.append(item(1, 1))), settled(gc.append(item(1, 2)))]; // queued behind the first commit
    release();
    await Promise.all([first, ...rest]);
    expect(events).toEqual(['commit 0', 'commit 1,2', 'settled seq 1', 'settled seq 2', 'settled seq 3']);
  });

  it('tells one sink about every send once: the refused one at once, the rest in order after their commit', async () => {
    const store = new SlowStore(7, true);
    const gc = new GroupCommitter(store as unknown as MessageStore, { maxBatch: 100 });
    const heard: string[] = [];
    const sink = {
      committed: (it: AppendInput, a: Appended) => heard.push(`${it.text}:${a.seq}`),
      failed: (it: AppendInput, err: unknown) => heard.push(`${it.text}:${err instanceof UnknownChannelError ? 'gone' : 'other'}`),
    };
    for (let n = 0; n < 5; n++) gc.enqueue(item(n === 3 ? 7 : 1, n), sink);
    await gc.flush();
    expect(heard).toEqual(['3:gone', '0:1', '1:2', '2:3', '4:4']);
    expect(store.batches).toEqual([5, 4]);
  });

  it("commits one tick's sends together, and each channel's seqs follow arrival order", async () => {
    const store = new SlowStore(-1);
    const gc = new GroupCommitter(store as unknown as MessageStore, { maxBatch: 50, lanes: 4 });
    const got = new Map<number, number[]>();
    const sends: Promise<void>[] = [];
    for (let round = 0; round < 20; round++) {
      for (let n = 0; n < 30; n++) {
        const cid = 1 + (n % 7);
        sends.push(gc.append(item(cid, n)).then((a) => void got.set(cid, [...(got.get(cid) ?? []), a.seq])));
      }
      await new Promise((r) => setTimeout(r, Math.random() * 3));
    }
    await Promise.all(sends);
    for (const [cid, seqs] of got) expect(seqs, `channel ${cid}`).toEqual(seqs.map((_, i) => i + 1));
    expect(Math.max(...store.batches)).toBeGreaterThan(1);
    expect(Math.max(...store.batches)).toBeLessThanOrEqual(50);
  });

  it('refuses only the bad item of a failed batch; the others commit, still in arrival order', async () => {
    const BAD = 13; // on the same lane as channel 1 (13 % 4 === 1)
    const store = new SlowStore(BAD);
    const gc = new GroupCommitter(store as unknown as MessageStore, { maxBatch: 100, lanes: 4 });
    const order: number[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, n) => {
        const cid = n === 7 ? BAD : 1;
        return gc.append(item(cid, n)).then((a) => {
          order.push(a.seq);
          return a.seq;
        });
      }),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(results[7]?.status).toBe('rejected');
    // Channel 1's 39 sends got seqs 1…39 in the order they were appended.
    const seqs = results.flatMap((r, n) => (n === 7 || r.status !== 'fulfilled' ? [] : [r.value]));
    expect(seqs).toEqual(Array.from({ length: 39 }, (_, i) => i + 1));
    // Later sends on that lane are not overtaken by the retries.
    expect(await gc.append(item(1, 99)).then((a) => a.seq)).toBe(40);
    await gc.flush();
  });

  it('a batch that failed on a deleted channel goes again as one batch without its sends, not send by send', async () => {
    const BAD = 5;
    const store = new SlowStore(BAD, true);
    const gc = new GroupCommitter(store as unknown as MessageStore, { maxBatch: 100 });
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, n) => gc.append(item(n % 10 === 3 ? BAD : 1 + (n % 3), n))));
    // One failed commit of all 40, then one of the 36 others: a deleted channel costs the node one
    // extra round trip, not one per send (a batch holds up to PARLEY_COMMIT_BATCH = 2000 sends).
    expect(store.batches).toEqual([40, 36]);
    for (const [n, r] of results.entries()) {
      if (n % 10 === 3) expect(r.status === 'rejected' && r.reason instanceof UnknownChannelError, `send ${n}`).toBe(true);
      else expect(r.status, `send ${n}`).toBe('fulfilled');
    }
    // Each good channel's seqs follow arrival order.
    for (const cid of [1, 2, 3]) {
      const seqs = results.flatMap((r, n) => (n % 10 !== 3 && 1 + (n % 3) === cid && r.status === 'fulfilled' ? [r.value.seq] : []));
      expect(seqs, `channel ${cid}`).toEqual(seqs.map((_, i) => i + 1));
    }
  });
});

describe('GroupCommitter: waiting for company', () => {
  /** A store that commits at once (a fast database): batches form only if the committer waits. */
  class QuickStore {
    readonly batches: number[] = [];
    private seq = 0;
    async appendBatch(items: readonly AppendInput[]): Promise<Appended[]> {
      this.batches.push(items.length);
      return items.map(() => ({ seq: ++this.seq, ts: 0, duplicate: false }));
    }
  }
  /** `n` sends `gapMs` apart; the batch sizes the store saw. Busy from 100 sends/s unless `o` says otherwise. */
  async function steady(gapMs: number, n: number, o: { maxWaitMs: number; lingerGaps?: number; busyRate?: number }): Promise<number[]> {
    const store = new QuickStore();
    const gc = new GroupCommitter(store as unknown as MessageStore, { maxBatch: 100, busyRate: 100, ...o });
    const sends: Promise<Appended>[] = [];
    for (let i = 0; i < n; i++) {
      sends.push(gc.append(item(1, i)));
      await new Promise((r) => setTimeout(r, gapMs)); // a steady stream, one send per gap
    }
    const seqs = (await Promise.all(sends)).map((a) => a.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // order kept
    return store.batches;
  }

  it('sends closer together than the wait share commits; without the wait each is alone', async () => {
    // Timers, not a busy loop: on a loaded machine the gaps stretch (a CI run saw 2.3 sends per
    // commit with a 20 ms cap and busy from 100/s), so the cap and the busy rate leave room for gaps
    // of up to ~15 ms. 150 sends: the first ~100 ms measure the rate (nothing waits until then).
    const waited = await steady(4, 150, { maxWaitMs: 60, lingerGaps: 4, busyRate: 50 });
    const alone = await steady(4, 60, { maxWaitMs: 0 });
    expect(150 / waited.length).toBeGreaterThan(2.5); // then it waits ~4 gaps: ~4 sends per commit
    expect(60 / alone.length).toBeLessThan(1.2);
  });

  it('a longer linger (in mean gaps) puts more sends in each commit', async () => {
    // The last commits, once the rate is known (before, nothing waits): ~4 against ~10 per commit
    // (12 gaps of 4–5 ms, capped at 48 ms); loose bounds for a loaded CI machine.
    const settled = (batches: number[]) => batches.slice(-5).reduce((a, b) => a + b, 0) / 5;
    const four = settled(await steady(4, 200, { maxWaitMs: 48, lingerGaps: 4 }));
    const twelve = settled(await steady(4, 200, { maxWaitMs: 48, lingerGaps: 12 }));
    expect(twelve).toBeGreaterThan(1.5 * four);
  });

  it('a node below the busy rate is not held back, however long the cap', async () => {
    const store = new QuickStore();
    // A 50 ms cap, sends 10 ms apart (~100 sends/s) under the default busy rate (200/s): none is
    // held back. A held-back send would take ~16 gaps here; the bound leaves room for a loaded CI
    // machine (a sub-millisecond bound here failed under the full suite).
    const gc = new GroupCommitter(store as unknown as MessageStore, { maxBatch: 100, maxWaitMs: 50, lingerGaps: 16 });
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      await gc.append(item(1, i));
      expect(performance.now() - t0).toBeLessThan(25);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(store.batches.every((b) => b === 1)).toBe(true);
    // The same stream with the busy rate under it waits for company.
    const busy = await steady(10, 40, { maxWaitMs: 50, lingerGaps: 4, busyRate: 50 });
    expect(Math.max(...busy)).toBeGreaterThan(1);
  });
});
