import { withDatabase } from './database.js';
import { startGateway } from './server.js';
import { WireClient } from './wire-client.js';

/**
 * Idle cost: gateway RSS growth per connected (authenticated, idle) WebSocket.
 */
export async function idle(n: number): Promise<{ connections: number; rssPerConnKiB: number; baselineMiB: number }> {
  return withDatabase((url) => measure(url, n));
}

async function measure(databaseUrl: string, n: number) {
  const server = await startGateway({ DATABASE_URL: databaseUrl });
  try {
    // Warm up allocator and code paths with a few connections, then take the baseline.
    const warm = await connectMany(server.url, 20, 'warm');
    for (const c of warm) c.close();
    await settle();
    const before = server.rssKiB();
    const clients = await connectMany(server.url, n, 'idle');
    await settle();
    const after = server.rssKiB();
    for (const c of clients) c.close();
    return { connections: n, rssPerConnKiB: round((after - before) / n), baselineMiB: round(before / 1024) };
  } finally {
    await server.stop();
  }
}

async function connectMany(url: string, n: number, prefix: string): Promise<WireClient[]> {
  const out: WireClient[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, (_, j) => new WireClient(url, `guest=${prefix}${i + j}`));
    await Promise.all(batch.map((c) => c.opened));
    out.push(...batch);
  }
  return out;
}

const settle = () => new Promise((r) => setTimeout(r, 1500));
const round = (x: number) => Math.round(x * 100) / 100;
