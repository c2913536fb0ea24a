import { createChannels, withGateways } from './cluster.js';
import { type CpuPerGateway, type CpuTotals, type StormResult, stormMarkdown } from './connect-storm-report.js';
import { postgresBackendPids, procCpuSeconds, redisPid, selfCpuSeconds, sumCpuSeconds } from './cpu.js';
import { ensureFdLimit } from './fd-limit.js';
import { type Haproxy, startHaproxy } from './haproxy.js';
import { flag, machine, outDir, progress, round, writeReport } from './report.js';
import type { Server } from './server.js';
import { type Attempt, type Storm, storm } from './storm-clients.js';

/**
 * connect-storm: 2 gateways in cluster mode (Redis, throwaway Postgres DB) behind a real HAProxy
 * (infra/haproxy/haproxy.cfg); `clients` guests connect through it at once — one synchronous loop,
 * no pacing, no retries — and each joins one of `channels` channels (created first by a
 * registered owner). Measures time until all are joined, per-client connect → joined latency,
 * failures by kind, and where HAProxy sent them.
 *
 *   npm run bench -- connect-storm [clients=2000] [--channels=10] [--timeout=60] [--hold=2] [--out=dir]
 */
export interface StormOptions {
  clients: number;
  channels: number;
  /** Give up on clients not joined after this long (they count as failures). */
  timeoutS: number;
  /** Everyone stays connected this long after the storm, to see joined sockets dropped. */
  holdS: number;
  outDir: string;
}

export function parseStormArgs(args: string[]): StormOptions {
  const num = (v: string | undefined, def: number) => (v === undefined ? def : Number(v));
  const o = {
    clients: num(
      args.find((a) => !a.startsWith('--')),
      2000,
    ),
    channels: num(flag(args, 'channels'), 10),
    timeoutS: num(flag(args, 'timeout'), 60),
    holdS: num(flag(args, 'hold'), 2),
    outDir: outDir(args),
  };
  for (const [k, v] of Object.entries(o)) if (typeof v === 'number' && !(v >= 0)) throw new Error(`connect-storm: bad ${k}`);
  return o;
}

/** Everything a storm runs against. */
interface Setup {
  o: StormOptions;
  nodes: Server[];
  lb: Haproxy;
  channels: string[];
  say: (message: string) => void;
  /** CPU seconds so far of every process involved. */
  cpu: () => CpuPerGateway;
  meta: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const scale = (t: CpuTotals, f: (v: number) => number): CpuTotals => ({
  gateways: f(t.gateways),
  haproxy: f(t.haproxy),
  postgres: f(t.postgres),
  redis: f(t.redis),
  generator: f(t.generator),
});
const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);

export async function connectStorm(o: StormOptions) {
  const say = progress('connect-storm');
  // HAProxy is the biggest holder: 2 fds per proxied WebSocket (client side + gateway side).
  const fd = ensureFdLimit(2 * o.clients + 1000, `connect-storm ${o.clients}`);
  say(`open files: soft ${fd.soft}, hard ${fd.hard}${fd.raised ? ' (raised with prlimit)' : ''}`);
  const channels = Array.from({ length: o.channels }, (_, i) => `storm-${i}`);
  const rPid = await redisPid(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  // The owner creates every channel in one burst (guests send one frame each: the limit never matters to them).
  // ... and owns them all: the per-user channel cap (default 50) is lifted to the count asked for.
  const env = { PARLEY_RATE_PER_S: '1000', PARLEY_RATE_BURST: '1000', PARLEY_MAX_CHANNELS_PER_USER: String(Math.max(50, o.channels)) };
  return withGateways(2, 'storm', env, async (nodes, databaseUrl) => {
    await createChannels(nodes[0]?.url ?? '', 'storm-owner', channels);
    const lb = await startHaproxy(nodes.map((n, i) => ({ name: `gw${i + 1}`, port: n.port })));
    const database = new URL(databaseUrl).pathname.slice(1);
    const cpu = (): CpuPerGateway => ({
      gateways: nodes.map((n) => procCpuSeconds(n.proc.pid ?? 0)),
      haproxy: procCpuSeconds(lb.pid),
      postgres: sumCpuSeconds(postgresBackendPids(database)),
      redis: rPid ? procCpuSeconds(rPid) : Number.NaN,
      generator: selfCpuSeconds(),
    });
    try {
      return await run({ o, nodes, lb, channels, say, cpu, meta: { ...machine(), openFiles: fd } });
    } finally {
      await lb.stop();
    }
  });
}

async function run(x: Setup) {
  const { o, lb, say } = x;
  say(`2 gateways behind haproxy ${lb.url}; ${o.channels} channels; storming ${o.clients} guests`);
  let allSettled = () => {};
  const settled = new Promise<void>((r) => (allSettled = r));
  const cpu0 = x.cpu();
  const t0 = performance.now();
  const s = storm(
    lb.url,
    o.clients,
    (i) => x.channels[i % x.channels.length] ?? '',
    t0,
    () => {
      if (s.settled() === o.clients) allSettled();
    },
  );
  const issuedMs = performance.now() - t0;
  try {
    const count = (f: (a: Attempt) => boolean) => s.attempts.filter(f).length;
    const ticker = setInterval(() => {
      say(
        `opened ${count((a) => a.openedAt !== undefined)}/${o.clients}, joined ${count((a) => a.joinedAt !== undefined)}, ` +
          `failed ${count((a) => a.failure !== undefined)}, messages received ${s.received().messages}`,
      );
    }, 1000);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise((r) => (timer = setTimeout(r, o.timeoutS * 1000)))]);
    clearTimeout(timer);
    clearInterval(ticker);
    const stormMs = performance.now() - t0;
    const received = s.received();
    s.expire(stormMs);
    const cpu1 = x.cpu();
    say(`storm over after ${Math.round(stormMs)} ms; holding ${o.holdS}s`);
    await sleep(o.holdS * 1000);
    const summary = await summarize(x, s);
    // CPU seconds each part used during the storm (gateways summed).
    const used: CpuTotals = {
      gateways: sum(cpu1.gateways) - sum(cpu0.gateways),
      haproxy: cpu1.haproxy - cpu0.haproxy,
      postgres: cpu1.postgres - cpu0.postgres,
      redis: cpu1.redis - cpu0.redis,
      generator: cpu1.generator - cpu0.generator,
    };
    const pct = (v: number) => round((100 * v) / (stormMs / 1000));
    const result: StormResult = {
      ...summary,
      issuedMs: round(issuedMs),
      received,
      cpuPctOfOneCore: { ...scale(used, pct), gateways: cpu1.gateways.map((c, i) => pct(c - (cpu0.gateways[i] ?? 0))) },
      cpuMsPerJoinedClient: scale(used, (v) => round((1000 * v) / Math.max(1, summary.joined), 2)),
    };
    const path = writeReport(o.outDir, reportName(o), stormMarkdown(result, x.meta));
    say(`wrote ${path}`);
    return { md: path, ...result };
  } finally {
    for (const c of s.clients) c.close();
  }
}

/** connect-storm-<clients>.md, with `-c<channels>` when not the default 10 channels. */
const reportName = (o: StormOptions) => `connect-storm-${o.clients}${o.channels === 10 ? '' : `-c${o.channels}`}.md`;

/** Outcomes, latencies and the node split, from the attempts and what HAProxy and the gateways say. */
async function summarize(
  { o, nodes, lb }: Setup,
  s: Storm,
): Promise<Omit<StormResult, 'issuedMs' | 'received' | 'cpuPctOfOneCore' | 'cpuMsPerJoinedClient'>> {
  const joined = s.attempts.filter((a) => a.joinedAt !== undefined);
  const failed = s.attempts.map((a, i) => ({ a, i })).filter(({ a }) => a.failure !== undefined);
  const kinds = new Map<string, number>();
  for (const { a } of failed) kinds.set(a.failure as string, (kinds.get(a.failure as string) ?? 0) + 1);
  const first = [...failed].sort((p, q) => (p.a.failedAt ?? 0) - (q.a.failedAt ?? 0))[0];
  const byNode = new Map<string, number>();
  for (const a of joined) byNode.set(a.node ?? '?', (byNode.get(a.node ?? '?') ?? 0) + 1);
  const stats = await lb.stats();
  const gauges = await Promise.all(nodes.map((n) => openConnections(n).catch(() => null)));
  const allJoinedMs = joined.length ? Math.max(...joined.map((a) => a.joinedAt as number)) : null;
  return {
    clients: o.clients,
    channels: o.channels,
    joined: joined.length,
    failed: failed.length,
    failedPct: round((100 * failed.length) / o.clients, 2),
    failures: Object.fromEntries([...kinds].sort((p, q) => q[1] - p[1])),
    firstError: first ? `storm-${first.i} at ${Math.round(first.a.failedAt ?? 0)} ms: ${first.a.detail}` : null,
    failedClients: failed.map(({ i }) => i).slice(0, 20),
    closedAfterJoin: s.attempts.filter((a) => a.closedAfterJoin !== undefined).length,
    allOpenedMs: round(Math.max(0, ...s.attempts.map((a) => a.openedAt ?? 0))),
    allJoinedMs: allJoinedMs === null ? null : round(allJoinedMs),
    connectionsPerS: allJoinedMs ? Math.round(joined.length / (allJoinedMs / 1000)) : null,
    connectToOpenMs: percentiles(s.attempts.flatMap((a) => (a.openedAt === undefined ? [] : [a.openedAt - a.startedAt]))),
    connectToJoinedMs: percentiles(joined.map((a) => (a.joinedAt as number) - a.startedAt)),
    nodes: Object.fromEntries(
      nodes.map((_, i) => {
        const id = `storm-${i + 1}`;
        const sv = stats.find((r) => r.pxname === 'gateways' && r.svname === `gw${i + 1}`);
        return [id, { joined: byNode.get(id) ?? 0, openConnections: gauges[i] ?? null, haproxySessions: Number(sv?.stot ?? Number.NaN) }];
      }),
    ),
    haproxySessionLimit: Number(stats.find((r) => r.pxname === 'parley' && r.svname === 'FRONTEND')?.slim ?? Number.NaN),
    haproxyLogOfFailed: failed.flatMap(({ i }) => lb.log().filter((l) => l.includes(`guest=storm-${i} `))).slice(0, 10),
  };
}

/** `parley_connections` (open WebSockets) from a gateway's /metrics. */
async function openConnections(node: Server): Promise<number | null> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const v = /^parley_connections(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1];
  return v === undefined ? null : Number(v);
}

function percentiles(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => (s.length ? round(s[Math.max(0, Math.ceil(p * s.length) - 1)] as number) : null);
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}
