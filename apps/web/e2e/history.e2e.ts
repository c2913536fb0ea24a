import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asGuest, composer, log, Stage } from './world.ts';

const N = 500;

/**
 * Story 2: 500 messages seeded with the SDK; the reader scrolls up through all of them. Every
 * one appears exactly once and in order, the rows on screen stay put while an older page is
 * added above them, and the DOM holds a bounded number of message rows throughout.
 */
describe('story 2: scroll back through history', () => {
  let stage: Stage;
  beforeAll(async () => {
    stage = await Stage.start({ PARLEY_RATE_PER_S: '100000', PARLEY_RATE_BURST: '100000' });
  });
  afterAll(async () => {
    await stage?.close();
  });

  it('500 messages, each once, in order; position kept; DOM bounded', async () => {
    const seeder = await stage.sdk('seeder');
    await seeder.create('archive');
    await seeder.join('archive');
    for (let i = 0; i < N; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, k) => seeder.send('archive', `archived message ${i + k + 1}`)));
    }
    seeder.close();

    const page = await stage.page({ height: 700 });
    await asGuest(page, stage.url, 'reader', '/c/archive');
    await composer(page, 'archive').waitFor();
    await log(page, 'archive').getByText(`archived message ${N}`, { exact: true }).waitFor();
    const scroller = page.locator('.scroller');

    const seen = new Map<number, number>(); // seq → how many distinct times it was read in order
    const jumps: number[] = [];
    let maxRows = 0;
    for (let round = 0; round < 400; round++) {
      const snap = await page.evaluate(() => {
        const rows = [...document.querySelectorAll<HTMLElement>('[role="log"] .msg[data-seq]')];
        const box = document.querySelector('.scroller')?.getBoundingClientRect();
        return {
          seqs: rows.map((r) => Number(r.dataset.seq)),
          texts: rows.map((r) => r.querySelector('.text')?.textContent ?? ''),
          tops: rows.map((r) => r.getBoundingClientRect().top - (box?.top ?? 0)),
          atStart: (document.body.textContent ?? '').includes('This is the beginning of the channel.'),
          scrollTop: document.querySelector('.scroller')?.scrollTop ?? 0,
        };
      });
      maxRows = Math.max(maxRows, snap.seqs.length);
      // In DOM order the rows are ascending and their text matches their seq.
      expect([...snap.seqs].sort((a, b) => a - b)).toEqual(snap.seqs);
      snap.seqs.forEach((s, i) => {
        expect(snap.texts[i]).toBe(`archived message ${s}`);
        seen.set(s, 1);
      });
      if (snap.atStart && snap.scrollTop === 0) break;
      // Scroll up by most of a screen, keeping an eye on one row: wherever a page of older
      // messages is inserted above it meanwhile, it must end up exactly where the scroll put it.
      const anchor = snap.seqs[Math.floor(snap.seqs.length / 2)] as number;
      const moved = await scroller.evaluate((el) => {
        const from = el.scrollTop;
        el.scrollTop = Math.max(0, from - el.clientHeight * 0.4);
        return from - el.scrollTop;
      });
      const expected = (snap.tops[snap.seqs.indexOf(anchor)] as number) + moved;
      await page.waitForTimeout(120);
      const top = await page.evaluate((a) => {
        const box = document.querySelector('.scroller')?.getBoundingClientRect();
        const row = document.querySelector<HTMLElement>(`[role="log"] .msg[data-seq="${a}"]`);
        return row ? row.getBoundingClientRect().top - (box?.top ?? 0) : null;
      }, anchor);
      // The row may have scrolled out of the rendered window; when it is there, it did not jump.
      if (top !== null) jumps.push(Math.abs(top - expected));
    }
    const missing = Array.from({ length: N }, (_, i) => i + 1).filter((s) => !seen.has(s));
    expect(missing).toEqual([]);
    expect(maxRows).toBeLessThan(80);
    expect(jumps.length).toBeGreaterThan(20);
    // Including every page inserted above, nothing moves by more than a pixel of rounding.
    expect(Math.max(...jumps)).toBeLessThan(2);
    // Position kept: after scrolling back to the start, reading downwards shows the same
    // sequence without a jump: the first rows are 1, 2, 3… from the top.
    const first = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('[role="log"] .msg[data-seq]')].slice(0, 3).map((r) => Number(r.dataset.seq)),
    );
    expect(first).toEqual([1, 2, 3]);
    expect(stage.errors.join('\n')).toBe('');
  });
});
