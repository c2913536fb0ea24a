import { Limits } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asGuest, composer, log, Stage, say } from './world.ts';

/**
 * Story 6: hostile input renders inert. Markup and `javascript:` URLs in messages are text;
 * no script runs (a dialog or a global set by a payload would show); a very long word wraps
 * instead of widening the page; an over-limit message is refused with a clear message.
 */
describe('story 6: hostile input', () => {
  let stage: Stage;
  beforeAll(async () => {
    stage = await Stage.start();
  });
  afterAll(async () => {
    await stage?.close();
  });

  it('a guest name someone else holds is refused with the reason, not as an expired session', async () => {
    const holder = await stage.page();
    await asGuest(holder, stage.url, 'holder');
    await composer(holder, 'general').waitFor();
    const page = await stage.page();
    await asGuest(page, stage.url, 'holder');
    await page.getByText('Cannot continue as guest: "holder" is taken. Pick another name.').waitFor();
    await page.getByLabel(/Guest name/).waitFor();
  });

  it('a crowded channel: the page reads one roster page, newcomers cost no roster read, "Show more" pages on', async () => {
    const membersRead = async () => {
      const text = await (await fetch(`${stage.url}/metrics`)).text();
      return Number(/^parley_costly_requests_total\{op="Members"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const host = await stage.sdk('crowdhost');
    await host.create('crowd');
    await host.join('crowd');
    // 205 guests join and go: members, offline.
    for (let i = 0; i < 205; i += 41) {
      const batch = await Promise.all(Array.from({ length: 41 }, (_, k) => stage.sdk(`crowd${i + k}`, false)));
      await Promise.all(batch.map((c) => c.join('crowd')));
      for (const c of batch) c.close();
    }
    const page = await stage.page();
    await asGuest(page, stage.url, 'watcher', '/c/crowd');
    await composer(page, 'crowd').waitFor();
    await page.getByText('2 online · 207 members').waitFor();
    const panel = page.getByRole('complementary', { name: 'Members' });
    await panel.getByRole('region', { name: 'Offline 205' }).waitFor();
    const more = panel.getByRole('button', { name: 'Show more members' });
    await more.waitFor();
    const reads = await membersRead();
    // Newcomers show up online and in the count, without the page asking for the roster again.
    const late = await Promise.all([1, 2, 3].map((k) => stage.sdk(`late${k}`, false)));
    await Promise.all(late.map((c) => c.join('crowd')));
    await page.getByText(/^5 online/).waitFor();
    await panel.getByRole('region', { name: 'Online 5' }).getByText('late3').waitFor();
    // Not on a loaded roster page, yet badged as presence describes them.
    await panel.locator('li', { hasText: 'late3' }).locator('.role-guest').waitFor();
    await new Promise((r) => setTimeout(r, 600)); // past the roster refresh's debounce
    expect(await membersRead()).toBe(reads);
    // The rest of the roster, one more page.
    await more.click();
    await more.waitFor({ state: 'detached' });
    expect(await membersRead()).toBe(reads + 1);
    expect(await panel.getByRole('region', { name: 'Offline 205' }).getByRole('listitem').count()).toBe(205);
    for (const c of [host, ...late]) c.close();
  });

  it('markup and javascript: links are text; long words wrap; over-limit refused', async () => {
    const page = await stage.page({ width: 900 });
    await asGuest(page, stage.url, 'victim');
    await composer(page, 'general').waitFor();
    // The attacker is another client (SDK), so nothing of the page's own input handling helps.
    const evil = await stage.sdk('mallory');
    await evil.join('general');
    const payloads = [
      '<img src=x onerror="window.__pwned=1;alert(1)">',
      '<script>window.__pwned=2</script>',
      '[click me](javascript:window.__pwned=3)',
      'javascript:window.__pwned=4',
      '<a href="javascript:window.__pwned=5">x</a>',
      'https://ok.example/"onmouseover="window.__pwned=6',
      '<svg onload=window.__pwned=7>',
    ];
    for (const p of payloads) await evil.send('general', p);
    const view = log(page, 'general');
    for (const p of payloads) await view.getByText(p, { exact: true }).waitFor();
    // Hover and click everything clickable in the log, as a curious person would.
    for (const a of await view.locator('a').all()) {
      expect(await a.getAttribute('href')).toMatch(/^https?:\/\//);
      await a.hover();
    }
    const found = await page.evaluate(() => ({
      pwned: (window as { __pwned?: number }).__pwned ?? null,
      imgs: document.querySelectorAll('[role="log"] img, [role="log"] svg, [role="log"] script').length,
      jsLinks: document.querySelectorAll('a[href^="javascript"]').length,
    }));
    expect(found).toEqual({ pwned: null, imgs: 0, jsLinks: 0 });

    // A 3,900-character word wraps inside the list: no horizontal scrolling.
    const word = 'W'.repeat(3900);
    await say(page, 'general', word);
    await view.getByText(word).waitFor();
    const widths = await page.evaluate(() => {
      const s = document.querySelector('.scroller') as HTMLElement;
      return { scroll: s.scrollWidth, client: s.clientWidth, page: document.documentElement.scrollWidth, win: window.innerWidth };
    });
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
    expect(widths.page).toBeLessThanOrEqual(widths.win);

    // Over the limit: refused in the composer with a clear message, nothing sent.
    const tooLong = 'x'.repeat(Limits.text + 1000);
    await composer(page, 'general').fill(tooLong);
    await page
      .getByRole('alert')
      .filter({ hasText: /Too long: 5,000 characters, the limit is 4,000/ })
      .waitFor();
    await composer(page, 'general').press('Enter');
    expect(await composer(page, 'general').inputValue()).toBe(tooLong);
    expect(await view.getByText(tooLong).count()).toBe(0);
    expect(stage.errors.join('\n')).toBe('');
  });
});
