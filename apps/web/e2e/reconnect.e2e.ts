import { type Message, ParleyClient } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcCluster } from '../../gateway/test/proc-cluster.ts';
import { provisionPostgres, provisionRedis } from '../../gateway/test/services.ts';
import { launch } from './browser.ts';
import { asGuest, composer, log } from './world.ts';

/**
 * Story 3: two gateway processes + Redis + Postgres behind the repo's HAProxy config. The
 * gateway serving the browser is killed (SIGKILL); the page shows the banner, reconnects
 * through the load balancer to the survivor, shows what the other person sent meanwhile (no
 * gap, no duplicate) and delivers the message typed during the outage exactly once. The page is
 * kept offline until then, so what happens meanwhile is missed live: its members panel is read
 * again once the channel is rejoined.
 */
describe('story 3: reconnect across a gateway crash, behind HAProxy', () => {
  let cluster: ProcCluster | undefined;
  let pg: Awaited<ReturnType<typeof provisionPostgres>> | undefined;
  let redis: Awaited<ReturnType<typeof provisionRedis>> | undefined;
  let browser: Awaited<ReturnType<typeof launch>> | undefined;
  let ben: ParleyClient | undefined;
  beforeAll(async () => {
    pg = await provisionPostgres();
    redis = await provisionRedis();
    cluster = await ProcCluster.start(2, {
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      PARLEY_REDIS_PREFIX: redis.prefix,
      PARLEY_DEFAULT_CHANNELS: 'general',
      PARLEY_LOG_LEVEL: 'warn',
    });
    browser = await launch();
  });
  afterAll(async () => {
    ben?.close();
    await browser?.close();
    await cluster?.close();
    await pg?.drop();
    await redis?.cleanup();
  });

  it('banner, catch-up without gaps or duplicates, the outage message delivered once', async () => {
    if (!cluster || !browser) throw new Error('not started');
    const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // The page itself comes through the load balancer.
    await asGuest(page, cluster.lbUrl, 'ann');
    await composer(page, 'general').waitFor();

    // Which gateway holds the page's WebSocket?
    const conns = await Promise.all(
      cluster.nodes.map(async (n) => {
        const text = await (await fetch(`${n.url}/metrics`)).text();
        return Number(/^parley_connections\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
      }),
    );
    const victim = cluster.nodes[conns.indexOf(1)];
    const survivor = cluster.nodes.find((n) => n !== victim);
    if (!victim || !survivor) throw new Error(`cannot tell which node serves the page: ${conns}`);

    // ben talks to the survivor directly.
    ben = new ParleyClient({ url: survivor.url, guestName: 'ben' });
    await ben.connect();
    await ben.join('general');
    const benSaw: Message[] = [];
    ben.on('message', (m) => benSaw.push(m));
    await ben.send('general', 'before the crash');
    await log(page, 'general').getByText('before the crash').waitFor();

    // Every text the status banner shows, recorded in the page: the SDK may reconnect through
    // the load balancer within milliseconds, faster than a locator polls for a banner.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __banners: string[] }).__banners = seen;
      const note = () => {
        for (const el of document.querySelectorAll('[role="status"]')) if (el.textContent) seen.push(el.textContent);
      };
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const bannerSeen = (text: string) =>
      expect
        .poll(() => page.evaluate((t) => (window as unknown as { __banners: string[] }).__banners.some((b) => b.includes(t)), text), {
          timeout: 60_000,
        })
        .toBe(true);
    // Offline first, so the page cannot reconnect until we say: what happens meanwhile is missed.
    await ctx.setOffline(true);
    await victim.stop('SIGKILL');
    await bannerSeen('Connection lost');
    for (let i = 1; i <= 5; i++) await ben.send('general', `while you were away ${i}`);
    // Someone new joins and leaves again meanwhile: the presence events are missed, the roster
    // (read again once the channel is rejoined) lists her.
    const cleo = new ParleyClient({ url: survivor.url, guestName: 'cleo' });
    await cleo.connect();
    await cleo.join('general');
    cleo.close();
    await ctx.setOffline(false);
    await composer(page, 'general').fill('typed during the outage');
    await composer(page, 'general').press('Enter');
    // Shown at once, as pending.
    await log(page, 'general').getByText('typed during the outage').waitFor();

    await bannerSeen('Back online');
    const view = log(page, 'general');
    await view.getByText('while you were away 5').waitFor();
    await page.locator('[data-pending]').waitFor({ state: 'detached', timeout: 30_000 });
    const texts = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('[role="log"] .msg[data-seq]')].map((r) => r.querySelector('.text')?.textContent ?? ''),
    );
    const expected = ['before the crash', ...Array.from({ length: 5 }, (_, i) => `while you were away ${i + 1}`)];
    expect(texts.filter((t) => expected.includes(t))).toEqual(expected);
    expect(texts.filter((t) => t === 'typed during the outage')).toHaveLength(1);
    await page.getByRole('complementary', { name: 'Members' }).getByText('cleo', { exact: true }).waitFor({ timeout: 15_000 });

    // Exactly once for the other person and in the record, too.
    await expect.poll(() => benSaw.filter((m) => m.text === 'typed during the outage').length, { timeout: 10_000 }).toBe(1);
    const h = await ben.history('general', { limit: 100 });
    expect(h.messages.filter((m) => m.text === 'typed during the outage')).toHaveLength(1);
    expect(errors).toEqual([]);
    await ctx.close();
  });
});
