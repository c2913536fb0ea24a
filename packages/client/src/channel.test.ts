import type { ChatMessage } from '@parley/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChannelSequencer } from './channel.js';

const msg = (seq: number): ChatMessage => ({ cid: 1, seq, user: 'u', text: `m${seq}`, ts: seq });
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A sequencer over a fake store holding seq 1..stored (minus `holes`), with page size `pageSize`. */
function setup(opts: { last?: number; stored?: number; pageSize?: number; windowMs?: number; holes?: number[] } = {}) {
  const delivered: number[] = [];
  const fetches: number[] = [];
  const errors: unknown[] = [];
  const store = { stored: opts.stored ?? 0 };
  const pageSize = opts.pageSize ?? 100;
  const ch = new ChannelSequencer('general', 1, opts.last ?? 0, {
    deliver: (m) => delivered.push(m.seq),
    fetchAfter: async (_cid, after) => {
      fetches.push(after);
      await tick(1);
      const all: ChatMessage[] = [];
      for (let s = after + 1; s <= store.stored; s++) if (!opts.holes?.includes(s)) all.push(msg(s));
      return { messages: all.slice(0, pageSize), more: all.length > pageSize };
    },
    error: (e) => errors.push(e),
    reorderWindowMs: opts.windowMs ?? 30,
  });
  ch.ready = true;
  return { ch, delivered, fetches, errors, store };
}

describe('ChannelSequencer', () => {
  it('delivers in-order messages and drops duplicates', () => {
    const { ch, delivered } = setup({ last: 5 });
    for (const s of [3, 5, 6, 7, 6, 7, 8]) ch.ingest(msg(s));
    expect(delivered).toEqual([6, 7, 8]);
    expect(ch.last).toBe(8);
  });

  it('reorders within the window without fetching', async () => {
    const { ch, delivered, fetches } = setup();
    ch.ingest(msg(2));
    ch.ingest(msg(3));
    expect(delivered).toEqual([]);
    ch.ingest(msg(1));
    expect(delivered).toEqual([1, 2, 3]);
    await tick(60);
    expect(fetches).toEqual([]);
  });

  it('fills a gap that outlives the window from history, paging', async () => {
    const { ch, delivered, fetches } = setup({ last: 0, stored: 250, pageSize: 100 });
    ch.ingest(msg(250));
    await tick(10);
    expect(delivered).toEqual([]);
    await tick(150);
    expect(delivered).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(fetches).toEqual([0, 100, 200]);
  });

  it('skips seqs that history says do not exist', async () => {
    const { ch, delivered } = setup({ stored: 5, holes: [2] });
    ch.ingest(msg(1));
    ch.ingest(msg(3));
    await tick(100);
    expect(delivered).toEqual([1, 3, 4, 5]);
  });

  it('gives up on a gap history cannot fill after a few attempts', async () => {
    // The store lags behind live delivery for good (seq 2 never becomes visible).
    const { ch, delivered, fetches } = setup({ stored: 1, windowMs: 10 });
    ch.ingest(msg(1));
    ch.ingest(msg(3));
    ch.ingest(msg(4));
    await tick(200);
    expect(delivered).toEqual([1, 3, 4]);
    expect(fetches.length).toBe(3);
  });

  it('waits for readiness before repairing and keeps its buffer across suspend', async () => {
    const { ch, delivered, fetches, store } = setup({ stored: 0 });
    ch.suspend();
    ch.ingest(msg(3));
    await tick(60);
    expect(fetches).toEqual([]);
    store.stored = 3;
    ch.ready = true;
    await ch.repair();
    expect(delivered).toEqual([1, 2, 3]);
  });

  it('delivers nothing after dispose', async () => {
    const { ch, delivered } = setup({ stored: 5 });
    ch.ingest(msg(2));
    ch.dispose();
    ch.ingest(msg(1));
    await tick(60);
    expect(delivered).toEqual([]);
  });

  it('property: any interleaving of live duplicates, reorders and losses yields 1..n once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 60 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            // live arrivals: a shuffled multiset of seqs, some lost, some repeated
            arrivals: fc.shuffledSubarray(
              Array.from({ length: n * 2 }, (_, i) => (i % n) + 1),
              { minLength: 0, maxLength: n * 2 },
            ),
          }),
        ),
        async ({ n, arrivals }) => {
          const { ch, delivered } = setup({ stored: n, pageSize: 7, windowMs: 5 });
          for (const s of arrivals) ch.ingest(msg(s));
          // The last message may never arrive live; a reconnect-style repair finishes the job.
          await tick(20);
          await ch.repair();
          expect(delivered).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        },
      ),
      { numRuns: 40 },
    );
  });
});
