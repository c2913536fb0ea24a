import { withDatabase } from './database.js';
import { ensureFdLimit } from './fd-limit.js';
import { progress } from './report.js';
import { startGateway } from './server.js';
import { WireClient } from './wire-client.js';

/**
 * Idle cost: gateway memory growth per connected (authenticated guest, idle) WebSocket.
 *
 * Both samples are taken after a memory-reducing GC in the gateway (gc-hook.ts). Without it the
 * delta is dominated by what V8 happens to hold at that instant — the young generation grown to
 * 2 × 16 MiB by the connect burst, pooled pages, garbage not yet collected, the heap of tsx's
 * module-hooks thread — which swings by tens of MiB between runs and does not grow with the number of connections: unsettled samples read
 * 12–22 KiB/conn at 1,000 connections and 2.9–3.9 at 10,000 both before and after per-connection
 * state shrank 4×, and sometimes come out negative. Everything live per connection stays counted.
 *
 * - rssPerConnKiB: resident memory (the target figure);
 * - heapPerConnKiB: JS objects (V8 heap used);
 * - nativePerConnKiB: RSS outside the V8 heap (uWS sockets, malloc'd memory).
 */
export async function idle(n: number) {
  // One socket per client here and one in the gateway, which inherits this process's limit.
  ensureFdLimit(n + 1000, `idle ${n}`);
  return withDatabase((url) => measure(url, n));
}

async function measure(databaseUrl: string, n: number) {
  const say = progress('idle');
  say('starting a gateway');
  const server = await startGateway({ DATABASE_URL: databaseUrl }, { gcHook: true });
  try {
    // Warm up allocator and code paths with a few connections, then take the baseline.
    const warm = await connectMany(server.url, 20, 'warm');
    for (const c of warm) c.close();
    await settle();
    const before = await server.memoryAfterGc();
    say(`baseline ${round(before.rss / 1024 / 1024)} MiB; connecting ${n} guests`);
    const clients = await connectMany(server.url, n, 'idle', say);
    await settle(); // lets the connections' database writes (last-seen) finish
    const after = await server.memoryAfterGc();
    say(`${n} connected: ${round(after.rss / 1024 / 1024)} MiB`);
    for (const c of clients) c.close();
    const perConn = (bytes: number) => round(bytes / 1024 / n);
    const rss = after.rss - before.rss;
    return {
      connections: n,
      rssPerConnKiB: perConn(rss),
      heapPerConnKiB: perConn(after.heapUsed - before.heapUsed),
      nativePerConnKiB: perConn(rss - (after.heapTotal - before.heapTotal)),
      baselineMiB: round(before.rss / 1024 / 1024),
    };
  } finally {
    await server.stop();
  }
}

async function connectMany(url: string, n: number, prefix: string, say?: (m: string) => void): Promise<WireClient[]> {
  const out: WireClient[] = [];
  for (let i = 0; i < n; i += 100) {
    if (say && i > 0 && i % 2000 === 0) say(`${i} / ${n} connected`);
    const batch = Array.from({ length: Math.min(100, n - i) }, (_, j) => new WireClient(url, `guest=${prefix}${i + j}`));
    await Promise.all(batch.map((c) => c.opened));
    out.push(...batch);
  }
  return out;
}

const settle = () => new Promise((r) => setTimeout(r, 1500));
const round = (x: number) => Math.round(x * 100) / 100;
