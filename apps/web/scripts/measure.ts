/**
 * Measures the web client in a real browser against a real gateway (in-process, PGlite), and
 * prints the figures the README quotes. Not a test: figures, not assertions.
 *
 *   npm run build -w @parley/web && npx tsx apps/web/scripts/measure.ts [seconds=60] [rate=50] [history=10000]
 *
 * 1. Initial load: JS + CSS bytes on the wire (compressed, as the browser received them) for the
 *    chat page, and the time from "Continue as guest" to the first messages on screen.
 * 2. Live load: an SDK client sends `rate` messages/s for `seconds` into the channel the page
 *    shows; the page records main-thread long tasks (PerformanceObserver 'longtask', > 50 ms)
 *    and the JS heap after a forced GC at the start and the end.
 * 3. Scroll-back: `history` messages seeded, the page scrolled to the very first one; the
 *    largest number of message rows in the DOM on the way.
 */
import { join } from 'node:path';
import { ParleyClient } from '@parley/client';
import { World } from '../../gateway/test/harness.ts';
import { launch } from '../e2e/browser.ts';

const [seconds = 60, rate = 50, historyN = 10_000] = process.argv.slice(2).map(Number);
const WEB_DIR = join(import.meta.dirname, '..', 'dist');

const world = await World.create('pglite');
const gw = await world.start({
  PARLEY_WEB_DIR: WEB_DIR,
  PARLEY_DEFAULT_CHANNELS: 'general',
  PARLEY_RATE_PER_S: '100000',
  PARLEY_RATE_BURST: '100000',
});
const browser = await launch();
const out: Record<string, unknown> = {};
try {
  const token = await world.signup(gw, 'loadgen');
  const sender = new ParleyClient({ url: gw.url, token });
  await sender.connect();
  await sender.join('general');
  for (let i = 0; i < 50; i++) await sender.send('general', `warm-up message ${i + 1}`);

  // ---- 1. initial load ----
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await ctx.newPage();
  await page.addInitScript(() => {
    const w = window as unknown as { __long: number[] };
    w.__long = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__long.push(e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  const types = new Map<string, string>();
  let jsCss = 0;
  cdp.on('Network.responseReceived', (e) => types.set(e.requestId, e.type));
  cdp.on('Network.loadingFinished', (e) => {
    const t = types.get(e.requestId);
    if (t === 'Script' || t === 'Stylesheet') jsCss += e.encodedDataLength;
  });
  await page.goto(gw.url);
  await page.getByLabel(/Guest name/).fill('watcher');
  const t0 = Date.now();
  await page.getByRole('button', { name: 'Continue as guest' }).click();
  await page.getByText('warm-up message 50', { exact: true }).waitFor();
  out.firstMessagesMs = Date.now() - t0;
  out.initialJsCssKiB = +(jsCss / 1024).toFixed(1);

  // ---- 2. rate msg/s for seconds ----
  await cdp.send('HeapProfiler.enable');
  await cdp.send('HeapProfiler.collectGarbage');
  const heap0 = (await cdp.send('Runtime.getHeapUsage')).usedSize;
  await page.evaluate(() => {
    (window as unknown as { __long: number[] }).__long = [];
  });
  if (process.env.MEASURE_PROFILE) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.start');
  }
  const total = seconds * rate;
  const started = Date.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    void sender.send('general', `live message ${i + 1} of ${total}: the quick brown fox jumps over the lazy dog`);
  }
  await page.getByText(`live message ${total} of ${total}:`, { exact: false }).waitFor({ timeout: 60_000 });
  const long = await page.evaluate(() => (window as unknown as { __long: number[] }).__long);
  if (process.env.MEASURE_PROFILE) {
    const { profile } = await cdp.send('Profiler.stop');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(process.env.MEASURE_PROFILE, JSON.stringify(profile));
  }
  await cdp.send('HeapProfiler.collectGarbage');
  const heap1 = (await cdp.send('Runtime.getHeapUsage')).usedSize;
  out.live = {
    messages: total,
    seconds,
    longTasks: long.length,
    longestTaskMs: long.length ? Math.round(Math.max(...long)) : 0,
    heapStartMiB: +(heap0 / 2 ** 20).toFixed(1),
    heapEndMiB: +(heap1 / 2 ** 20).toFixed(1),
    messageNodes: await page.locator('[role="log"] .msg').count(),
  };

  // ---- 3. scroll back through historyN messages ----
  await sender.create('deep');
  await sender.join('deep');
  for (let i = 0; i < historyN; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, historyN - i) }, (_, k) => sender.send('deep', `deep message ${i + k + 1}`)));
  }
  await page.goto(`${gw.url}/c/deep`);
  await page
    .getByText(`deep message ${historyN}`, { exact: true })
    .waitFor()
    .catch(async (e) => {
      await page.screenshot({ path: '/tmp/measure-fail.png' });
      throw e;
    });
  let maxNodes = 0;
  const s0 = Date.now();
  for (;;) {
    const r = await page.evaluate(() => {
      const el = document.querySelector('.scroller') as HTMLElement;
      el.scrollTop = 0;
      return {
        nodes: document.querySelectorAll('[role="log"] .msg').length,
        done: (document.body.textContent ?? '').includes('This is the beginning of the channel.'),
      };
    });
    maxNodes = Math.max(maxNodes, r.nodes);
    if (r.done) break;
    await page.waitForTimeout(50);
  }
  await page.getByText('deep message 1', { exact: true }).waitFor();
  out.scrollBack = { messages: historyN, maxMessageNodes: maxNodes, seconds: +((Date.now() - s0) / 1000).toFixed(1) };
  sender.close();
  await ctx.close();
} finally {
  await browser.close();
  await world.close();
}
console.log(JSON.stringify(out));
