import { ParleyClient } from '@parley/client';
import { historyBurst, readMetrics } from '@parley/gateway/history-burst';
import { ErrorCode, encodeRequest, Kind, Limits, Op } from '@parley/protocol';
import { withDatabase } from './database.js';
import { flag, progress, round } from './report.js';
import { type Server, startGateway } from './server.js';
import { signup } from './signup.js';
import { WireClient } from './wire-client.js';

/**
 * Issue 10's two stalls, each against a fresh gateway process on a throwaway Postgres database,
 * with the gateway's own figures: its RSS (/proc), and the longest event-loop delay it measured
 * over the item (readMetrics).
 *
 * 1. Decoder bomb: a guest sends `bombs` 16 KiB frames of nested msgpack array16 headers (0xdc 0xff
 *    0xff …), one after the other. Before the bounded decoder each froze the gateway for ~5 s and
 *    left +2.7 GiB of RSS. Target: each answered with error 100 within 100 ms, RSS + < 32 MiB.
 * 2. History burst (test/history-burst.ts, also e2e-budget.test.ts): `readers` guests each ask for
 *    a 100-message History page `rate` times a second for `seconds`, while a canary pair chats;
 *    all in the same tick (the report's shape), or with `--spread` evenly over each period. The
 *    archive's messages are `--text` characters long: by default the longest the protocol allows
 *    (4,000: a page of ~400 KB), the worst a client may legally ask for; e2e-budget's ~90 (pages
 *    of ~10 KB) did not hurt even the gateway without a budget here (bench/README.md).
 *    Before the request budget: ~2 GiB RSS, every send held up for 85–100 s. Target: canary p99
 *    < 250 ms, every canary message delivered, RSS + < 300 MiB at its peak.
 */
export interface AbuseOptions {
  items: number[];
  bombs: number;
  readers: number;
  rate: number;
  seconds: number;
  spread: boolean;
  /** Characters per archived message (a page holds 100 of them). */
  text: number;
}

export function parseAbuseArgs(args: readonly string[]): AbuseOptions {
  const items = args.filter((a) => !a.startsWith('--')).map(Number);
  if (items.some((i) => i !== 1 && i !== 2)) throw new Error('abuse: items are 1 (decoder bomb) and 2 (history burst)');
  return {
    items: items.length ? items : [1, 2],
    bombs: Number(flag(args, 'bombs') ?? 3),
    readers: Number(flag(args, 'readers') ?? 150),
    rate: Number(flag(args, 'rate') ?? 4),
    seconds: Number(flag(args, 'seconds') ?? 20),
    spread: args.includes('--spread'),
    text: Number(flag(args, 'text') ?? Limits.text),
  };
}

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function abuse(o: AbuseOptions) {
  const say = progress('abuse');
  const out: Record<string, unknown> = {};
  await withDatabase(async (databaseUrl) => {
    if (o.items.includes(1)) out.bomb = await onGateway(databaseUrl, say, (s) => bomb(s, o, say));
    if (o.items.includes(2)) out.historyBurst = await onGateway(databaseUrl, say, (s) => burst(s, o, say));
  });
  return out;
}

async function onGateway<T>(databaseUrl: string, say: (m: string) => void, fn: (s: Server) => Promise<T>): Promise<T> {
  say('starting a gateway');
  // The gateway's defaults (rate limits, request budget) are what is measured: nothing lifted.
  const server = await startGateway({ DATABASE_URL: databaseUrl });
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/** The gateway's longest event-loop delay since the previous read of its /metrics, in ms. */
const maxLoopDelayMs = async (s: Server) => round((await readMetrics(s.url, ErrorCode.BadFrame)).loopMaxMs);

async function bomb(s: Server, o: AbuseOptions, say: (m: string) => void) {
  const frame = new Uint8Array(16 * 1024);
  for (let at = 0; at + 3 <= frame.length; at += 3) frame.set([0xdc, 0xff, 0xff], at);
  const c = new WireClient(s.url, 'guest=bomber');
  await c.opened;
  await new Promise<void>((hello) => (c.onFrame = () => hello()));
  await sleep(1000);
  const rssBefore = s.rssKiB() * 1024;
  await maxLoopDelayMs(s);
  say(`sending ${o.bombs} bombs of ${frame.length} bytes`);
  const replyMs: number[] = [];
  for (let i = 0; i < o.bombs; i++) {
    const t0 = performance.now();
    const answered = new Promise<boolean>((resolve) => {
      c.onFrame = (f) => resolve(f.kind === Kind.Error && f.code === ErrorCode.BadFrame);
      c.ws.once('close', () => resolve(false));
    });
    c.send(frame);
    if (!(await answered)) throw new Error(`bomb ${i + 1}: no error ${ErrorCode.BadFrame} reply`);
    replyMs.push(round(performance.now() - t0));
  }
  await sleep(200); // the delay monitor samples every 10 ms: let it cover the bombs' window
  const maxStallMs = await maxLoopDelayMs(s);
  await sleep(1000);
  const rssGrowthMiB = round((s.rssKiB() * 1024 - rssBefore) / MiB);
  c.close();
  return {
    bombs: o.bombs,
    bytes: frame.length,
    replyMs,
    maxStallMs,
    rssBeforeMiB: round(rssBefore / MiB),
    rssGrowthMiB,
    pass: Math.max(...replyMs) < 100 && rssGrowthMiB < 32,
  };
}

async function burst(s: Server, o: AbuseOptions, say: (m: string) => void) {
  say(`seeding the archive (300 messages of ${o.text} characters) and the canary pair`);
  const token = await signup(s.url, 'archivist');
  const owner = new WireClient(s.url, `token=${token}`);
  await owner.opened;
  for (const name of ['archive', 'canary']) await owner.request((rid) => encodeRequest({ op: Op.Create, rid, name }));
  const join = await owner.request((rid) => encodeRequest({ op: Op.Join, rid, name: 'archive' }));
  const cid = (join as { cid: number }).cid;
  owner.close();
  await seed(s.url, token, { name: 'archive', cid }, 300, o.text);
  const sender = new ParleyClient({ url: s.url, token });
  const listener = new ParleyClient({ url: s.url, guestName: 'canary-listener' });
  await Promise.all([sender.connect(), listener.connect()]);
  await sender.join('canary');
  await listener.join('canary');

  let rssBefore = 0;
  let rssPeak = 0;
  let hwmBefore = 0;
  say(`${o.readers} readers join, then ask ${o.rate}×/s for ${o.seconds} s`);
  const r = await historyBurst({
    url: s.url,
    archive: { name: 'archive', cid },
    readers: o.readers,
    perSecond: o.rate,
    seconds: o.seconds,
    spread: o.spread,
    limit: 100,
    canary: { channel: 'canary', sender, listener },
    beforeBurst: async () => {
      rssBefore = rssPeak = s.rssKiB() * 1024;
      hwmBefore = s.peakRssKiB() * 1024;
    },
    sample: () => {
      rssPeak = Math.max(rssPeak, s.rssKiB() * 1024);
    },
  });
  // The kernel's high-water mark catches a peak between two samples, if it rose during the burst.
  const hwm = s.peakRssKiB() * 1024;
  if (hwm > hwmBefore) rssPeak = Math.max(rssPeak, hwm);
  sender.close();
  listener.close();
  await sleep(2000);
  const rssAfter = s.rssKiB() * 1024;
  const peakGrowthMiB = round((rssPeak - rssBefore) / MiB);
  return {
    readers: o.readers,
    ratePerReader: o.rate,
    inStep: !o.spread,
    textChars: o.text,
    seconds: o.seconds,
    asked: r.asked,
    served: r.served,
    busy: r.busy,
    canary: { ...r.canary, p50Ms: round(r.canary.p50Ms), p99Ms: round(r.canary.p99Ms), maxMs: round(r.canary.maxMs) },
    maxStallMs: round(r.maxStallMs),
    rssBeforeMiB: round(rssBefore / MiB),
    rssPeakMiB: round(rssPeak / MiB),
    rssAfterMiB: round(rssAfter / MiB),
    pass: r.canary.p99Ms < 250 && r.canary.received === r.canary.sent && r.canary.errors === 0 && peakGrowthMiB < 300,
  };
}

/** `n` messages of `chars` characters, sent over connections of one account: each stays inside its rate limit's burst. */
async function seed(url: string, token: string, { name, cid }: { name: string; cid: number }, n: number, chars: number): Promise<void> {
  const perConn = 30;
  await Promise.all(
    Array.from({ length: Math.ceil(n / perConn) }, async (_, k) => {
      const c = new WireClient(url, `token=${token}`);
      await c.opened;
      await c.request((rid) => encodeRequest({ op: Op.Join, rid, name }));
      for (let i = k * perConn; i < Math.min(n, (k + 1) * perConn); i++) {
        await c.request((rid) => encodeRequest({ op: Op.Message, rid, cid, text: `old ${i} `.padEnd(chars, 'x'), cmid: null }));
      }
      c.close();
    }),
  );
}
