import { encodeRequest, Op } from '@parley/protocol';
import { createChannels } from './cluster.js';
import { withDatabase } from './database.js';
import { ensureFdLimit } from './fd-limit.js';
import { progress } from './report.js';
import { startGateway } from './server.js';
import { WireClient } from './wire-client.js';

/**
 * Idle cost: gateway memory growth per connected (authenticated guest, idle) WebSocket.
 *
 * Both samples are taken after a memory-reducing GC in the gateway (gc-hook.mjs). Without it the
 * delta is dominated by what V8 happens to hold at that instant — the young generation grown to
 * 2 × 16 MiB by the connect burst, pooled pages, garbage not yet collected, the heap of tsx's
 * module-hooks thread when the gateway ran through tsx — which swings by tens of MiB between runs and does not grow with the number of connections: unsettled samples read
 * 12–22 KiB/conn at 1,000 connections and 2.9–3.9 at 10,000 both before and after per-connection
 * state shrank 4×, and sometimes come out negative. Everything live per connection stays counted.
 *
 * - rssPerConnKiB: resident memory (the target figure);
 * - heapPerConnKiB: JS objects (V8 heap used);
 * - nativePerConnKiB: RSS outside the V8 heap (uWS sockets, malloc'd memory).
 *
 * With `joins` > 0 (`--joins=2`) every connection also joins that many channels of `members`
 * members each (default 100: n × joins / members channels, created by a registered owner; the
 * i-th connection joins channels i, i + C/joins, … mod C), which is what a chat user's connection
 * holds; the figure is then per joined connection. Joins are sent after every connection is
 * open; each client stops reading its frames (presence diffs) once its joins are answered.
 * `startMiB` is the gateway's RSS as it starts listening, before anything connects and before any
 * forced GC: what an idle gateway costs.
 */
export async function idle(n: number, joins = 0, members = 100) {
  // One socket per client here and one in the gateway, which inherits this process's limit.
  ensureFdLimit(n + 1000, `idle ${n}`);
  return withDatabase((url) => measure(url, n, joins, members));
}

async function measure(databaseUrl: string, n: number, joins: number, members: number) {
  const say = progress('idle');
  say('starting a gateway');
  // Creating the channels and joining them is a burst of requests: lift the per-connection rate
  // limit (20 frames/s by default) when there are joins; the plain idle run keeps the defaults.
  const rate: Record<string, string> = joins > 0 ? { PARLEY_RATE_PER_S: '1000000', PARLEY_RATE_BURST: '1000000' } : {};
  const server = await startGateway({ DATABASE_URL: databaseUrl, ...rate }, { gcHook: true });
  const startMiB = round(server.rssKiB() / 1024);
  try {
    const channels = joins > 0 ? Math.max(joins, Math.ceil((n * joins) / members)) : 0;
    const names = Array.from({ length: channels }, (_, i) => `idle-${i}`);
    if (channels) {
      say(`creating ${channels} channels`);
      await createChannels(server.url, 'idle-owner', names);
    }
    // Warm up allocator and code paths with a few connections, then take the baseline.
    const warm = await connectMany(server.url, 20, 'warm');
    for (const c of warm) c.close();
    await settle();
    const before = await server.memoryAfterGc();
    say(`baseline ${round(before.rss / 1024 / 1024)} MiB; connecting ${n} guests`);
    const clients = await connectMany(server.url, n, 'idle', say);
    if (channels) {
      say(`joining ${joins} channels each`);
      const stride = Math.floor(channels / joins);
      for (let i = 0; i < n; i += 100) {
        await Promise.all(
          clients.slice(i, i + 100).map(async (c, j) => {
            for (let k = 0; k < joins; k++) {
              const name = names[(i + j + k * stride) % channels] ?? '';
              await c.request((rid) => encodeRequest({ op: Op.Join, rid, name }));
            }
            c.ws.removeAllListeners('message'); // presence diffs from here on are read and dropped
          }),
        );
      }
    }
    await settle(); // lets the connections' database writes (last-seen) finish
    const after = await server.memoryAfterGc();
    say(`${n} connected: ${round(after.rss / 1024 / 1024)} MiB`);
    for (const c of clients) c.close();
    const perConn = (bytes: number) => round(bytes / 1024 / n);
    const rss = after.rss - before.rss;
    return {
      connections: n,
      ...(channels ? { joinsPerConnection: joins, membersPerChannel: Math.round((n * joins) / channels) } : {}),
      rssPerConnKiB: perConn(rss),
      heapPerConnKiB: perConn(after.heapUsed - before.heapUsed),
      nativePerConnKiB: perConn(rss - (after.heapTotal - before.heapTotal)),
      baselineMiB: round(before.rss / 1024 / 1024),
      startMiB,
      allocator: server.allocator,
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
