import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { ParleyClient } from '@parley/client';
import { ErrorCode, encodeRequest, Op, SUBPROTOCOL } from '@parley/protocol';

/**
 * Issue 10, item 2, as a load: `readers` guests each ask for a History page of `limit` messages
 * `perSecond` times a second for `seconds` — well inside the per-connection rate limit — while a
 * canary pair chats (one send every 100 ms, timed from send to arrival). Before the request
 * budget this took a Postgres-backed gateway to ~2 GiB RSS and held every send up for 85–100 s.
 *
 * Used by e2e-budget.test.ts (gateway in the test's process) and `npm run bench -- abuse`
 * (gateway in its own process), which measure the gateway's memory and stalls around it.
 */
export interface HistoryBurstOptions {
  /** The gateway, http://host:port. */
  url: string;
  /** The channel the readers page through: it must hold at least `limit` messages. */
  archive: { name: string; cid: number };
  readers: number;
  perSecond: number;
  /** Readers ask in step (all in one tick, the report's shape) unless spread evenly over each period. */
  spread?: boolean;
  seconds: number;
  limit: number;
  /** Both connected and joined to `channel`: `sender` sends, `listener` times each arrival. */
  canary: { channel: string; sender: ParleyClient; listener: ParleyClient };
  /** Called once every reader has joined, just before the burst (e.g. a memory baseline). */
  beforeBurst?: () => Promise<void> | void;
  /** Called every 250 ms while the burst runs (e.g. a memory sample). */
  sample?: () => void;
}

export interface HistoryBurstResult {
  /** History requests the readers sent, and the pages that came back. */
  asked: number;
  served: number;
  /** Requests refused with 401 Busy (the node's error counter, over the burst). */
  busy: number;
  /** The gateway's longest event-loop delay during the burst (ms). */
  maxStallMs: number;
  canary: { sent: number; received: number; errors: number; p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number };
}

/**
 * One read of a gateway's /metrics: the error frames it has sent with `code`, and the longest
 * event-loop delay it measured since the previous read (`parley_event_loop_delay_max_seconds`:
 * every read resets it, so a read before and one after bound a window, and nothing else may read
 * it in between).
 */
export async function readMetrics(url: string, code: number): Promise<{ errorsSent: number; loopMaxMs: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
  return {
    errorsSent: value(new RegExp(`^parley_errors_total\\{[^}]*code="${code}"[^}]*\\} (\\d+)$`, 'm')) || 0,
    loopMaxMs: value(/^parley_event_loop_delay_max_seconds(?:\{[^}]*\})? (\S+)$/m) * 1000,
  };
}

/** The p-quantile (0..1) of xs, nearest rank. */
export function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(s.length * p) - 1))] ?? Number.NaN;
}

// The readers run in a thread of their own: their sockets and the pages they receive must not load
// the thread that times the canary (in the test, the gateway's own) beyond what the server itself
// has to do for them. Plain CommonJS, so that it runs without a TypeScript loader.
const READERS = `
const { parentPort, workerData: w } = require('node:worker_threads');
const WebSocket = require(w.ws);
let pages = 0, asked = 0, joined = 0;
const socks = [];
// Open every socket, then join one at a time (a crowd joining at once would be refused Busy).
(async () => {
  for (let i = 0; i < w.n; i++) {
    const ws = new WebSocket(w.url + i, w.protocol);
    let seen = 0;
    const waiting = [];
    ws.on('message', (d) => {
      seen++;
      if (d.length > 1000) pages++; // history pages; errors are small
      for (const f of waiting.splice(0)) f();
    });
    const until = async (k) => { while (seen < k) await new Promise((ok) => waiting.push(ok)); };
    await new Promise((ok) => ws.once('open', ok));
    await until(1); // the Hello
    ws.send(Buffer.from(w.join));
    await until(2); // the Join reply
    socks.push(ws);
    joined++;
  }
})();
parentPort.on('message', (m) => {
  if (m === 'start') {
    pages = 0; // join replies with long member lists are large too
    const period = 1000 / w.perSecond;
    const ask = (ws) => { if (ws.readyState === 1) { ws.send(Buffer.from(w.history)); asked++; } };
    // In step: every reader asks in the same tick. Spread: reader i asks i/n of a period later.
    const timers = w.spread
      ? socks.map((ws, i) => setTimeout(() => timers.push(setInterval(() => ask(ws), period)), (i * period) / socks.length))
      : [setInterval(() => { for (const ws of socks) ask(ws); }, period)];
    setTimeout(() => {
      for (const t of timers) clearInterval(t); // clears a pending setTimeout too
      parentPort.postMessage({ pages, asked });
    }, w.ms);
  } else parentPort.postMessage({ joined });
});
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function historyBurst(o: HistoryBurstOptions): Promise<HistoryBurstResult> {
  const { sender, listener, channel } = o.canary;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const onMessage = (m: { text: string }) => {
    const t = sentAt.get(m.text);
    if (t !== undefined) latencies.push(performance.now() - t);
  };
  listener.on('message', onMessage);
  const readers = new Worker(READERS, {
    eval: true,
    workerData: {
      ws: createRequire(import.meta.url).resolve('ws'),
      url: `${o.url.replace('http', 'ws')}/ws?guest=reader`,
      protocol: SUBPROTOCOL,
      n: o.readers,
      ms: o.seconds * 1000,
      perSecond: o.perSecond,
      spread: o.spread ?? false,
      join: encodeRequest({ op: Op.Join, rid: 1, name: o.archive.name }),
      history: encodeRequest({ op: Op.History, rid: 2, cid: o.archive.cid, before: null, after: null, limit: o.limit }),
    },
  });
  const ask = <T>(m: string) =>
    new Promise<T>((resolve) => {
      readers.once('message', resolve);
      readers.postMessage(m);
    });
  try {
    while ((await ask<{ joined: number }>('?')).joined < o.readers) await sleep(100);
    await sleep(500);

    await o.beforeBurst?.();
    const before = await readMetrics(o.url, ErrorCode.Busy);
    const sampler = o.sample && setInterval(o.sample, 250);
    const done = ask<{ pages: number; asked: number }>('start');
    let errors = 0;
    const deadline = performance.now() + o.seconds * 1000;
    let sent = 0;
    while (performance.now() < deadline) {
      const text = `canary ${sent++}`;
      sentAt.set(text, performance.now());
      sender.send(channel, text).catch(() => errors++);
      await sleep(100);
    }
    const { pages, asked } = await done;
    clearInterval(sampler);
    const after = await readMetrics(o.url, ErrorCode.Busy);
    for (const until = performance.now() + 10_000; latencies.length < sent && performance.now() < until; ) await sleep(50);
    return {
      asked,
      served: pages,
      busy: after.errorsSent - before.errorsSent,
      maxStallMs: after.loopMaxMs,
      canary: {
        sent,
        received: latencies.length,
        errors,
        p50Ms: pct(latencies, 0.5),
        p95Ms: pct(latencies, 0.95),
        p99Ms: pct(latencies, 0.99),
        maxMs: pct(latencies, 1),
      },
    };
  } finally {
    listener.off('message', onMessage);
    await readers.terminate();
  }
}
