import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { procCpuSeconds, redisPid, selfCpuSeconds, sumCpuSeconds } from './cpu.js';

import { type Handle, runSystem, SYSTEMS, type SystemName, type Topology } from './fanout-drivers.js';
import { markdown, type StepResult, type SystemResult, saturation, stepAt, svg, targets } from './fanout-report.js';
import { measuredUws } from './uws-build.js';

/**
 * fanout: 2 server nodes + Redis; `rooms` × `receivers` receivers split across the nodes,
 * `publishers` per room; the offered rate (deliveries/s = publishes/s × receivers per room) is
 * stepped up until p99 > 100 ms or delivery < 95 %. Every body carries its step id and send time,
 * so one generator process (this one) measures the latency of every delivery.
 *
 *   npm run bench -- fanout [--quick] [--systems=parley,socketio-lean,…] [--steps=5000,10000,…]
 *                           [--seconds=3] [--rooms=10] [--receivers=100] [--publishers=2] [--patience=2] [--out=dir]
 */
export interface FanoutOptions {
  systems: SystemName[];
  steps: number[];
  seconds: number;
  rooms: number;
  receivers: number;
  publishers: number;
  outDir: string;
  quick: boolean;
  /** Consecutive steps over p99 100 ms before stepping stops (delivery < 95 % stops at once). */
  patience: number;
  /** Seconds of unmeasured traffic at the first step's rate before the first step. */
  warmupS: number;
}

export const LABELS: Record<SystemName, string> = {
  parley: 'Parley (2 gateways + Redis)',
  'socketio-lean': 'Socket.IO + redis-adapter (lean client)',
  'socketio-pg': 'Socket.IO + redis-adapter + postgres.js INSERT per message (lean client)',
  'socketio-client': 'Socket.IO + redis-adapter (socket.io-client)',
  'uws-relay': 'bare uWS + ioredis relay (2 nodes)',
  'uws-relay-pg': 'bare uWS + ioredis relay (2 nodes) + postgres.js INSERT per message',
  'uws-single': 'bare uWS, single node (no Redis)',
  'parley-b': 'Parley from BENCH_PARLEY_B_DIR (A/B)',
};

export function parseFanoutArgs(args: string[]): FanoutOptions {
  const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const quick = args.includes('--quick');
  const list = (s: string | undefined) => s?.split(',').filter(Boolean);
  // By default every system but the A/B baseline (it needs BENCH_PARLEY_B_DIR) and the persisting relay (ask for it).
  const defaults = SYSTEMS.filter((s) => s !== 'parley-b' && s !== 'uws-relay-pg');
  const systems = (list(flag('systems')) ?? (quick ? ['parley', 'socketio-lean', 'uws-single'] : defaults)) as SystemName[];
  for (const s of systems) if (!SYSTEMS.includes(s)) throw new Error(`unknown system "${s}": use ${SYSTEMS.join(' | ')}`);
  return {
    systems,
    steps: (list(flag('steps')) ?? (quick ? ['1000', '4000'] : ['5000', '10000', '20000', '50000', '100000', '200000', '400000'])).map(
      Number,
    ),
    seconds: Number(flag('seconds') ?? (quick ? 1 : 3)),
    rooms: Number(flag('rooms') ?? (quick ? 2 : 10)),
    receivers: Number(flag('receivers') ?? (quick ? 20 : 100)),
    publishers: Number(flag('publishers') ?? (quick ? 1 : 2)),
    outDir: flag('out') ?? (quick ? join(tmpdir(), `parley-fanout-quick-${process.pid}`) : join(import.meta.dirname, '..', 'results')),
    quick,
    patience: Number(flag('patience') ?? 2),
    warmupS: Number(flag('warmup') ?? (quick ? 2 : 5)),
  };
}

/** Latency histogram: 0.1 ms buckets up to 60 s. */
export class Histogram {
  private readonly buckets = new Uint32Array(600_000);
  count = 0;
  max = 0;
  add(ms: number): void {
    const i = ms <= 0 ? 0 : Math.min(this.buckets.length - 1, Math.floor(ms * 10));
    this.buckets[i] = (this.buckets[i] ?? 0) + 1;
    this.count += 1;
    if (ms > this.max) this.max = ms;
  }
  pct(p: number): number {
    if (!this.count) return Number.NaN;
    const target = Math.ceil(this.count * p);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i] ?? 0;
      if (seen >= target) return (i + 1) / 10;
    }
    return this.max;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function fanout(opts: FanoutOptions) {
  const started = performance.now();
  const loadAtStart = loadavg()[0];
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  const progress = (s: string) => process.stderr.write(`[fanout ${elapsed()}] ${s}\n`);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const topo: Topology = { rooms: opts.rooms, receiversPerRoom: opts.receivers, publishersPerRoom: opts.publishers, redisUrl };
  const rPid = await redisPid(redisUrl);
  const results: SystemResult[] = [];

  // The sink is shared by every system: deliveries of the current step go into its histogram.
  let step = 0;
  let hist = new Histogram();
  let inWindow = 0;
  let forStep = 0;
  const sink = (s: number, sentAt: number) => {
    inWindow += 1;
    if (s !== step) return;
    forStep += 1;
    hist.add(performance.now() - sentAt);
  };

  const runSteps = async (name: SystemName, h: Handle, res: SystemResult) => {
    const nPubs = opts.rooms * opts.publishers;
    let failedInRow = 0;
    // Warm-up at the first step's rate, not measured: without it the first steps measure V8
    // compiling the hot paths (see "Warm-up" in bench/README.md).
    if (opts.warmupS > 0) {
      progress(`${name} warm-up: ${opts.steps[0] ?? 0} deliveries/s for ${opts.warmupS}s`);
      step += 1;
      const rate = (opts.steps[0] ?? 0) / opts.receivers;
      const t0 = performance.now();
      let sent = 0;
      while (performance.now() - t0 < opts.warmupS * 1000) {
        const due = Math.floor((rate * (performance.now() - t0)) / 1000);
        for (; sent < due; sent++) h.publish(sent % nPubs, step, performance.now());
        await sleep(1);
      }
      await sleep(500);
    }
    for (const [i, offered] of opts.steps.entries()) {
      progress(`${name} step ${i + 1}/${opts.steps.length}: offering ${offered} deliveries/s for ${opts.seconds}s`);
      step += 1;
      hist = new Histogram();
      forStep = 0;
      const pubRate = offered / opts.receivers; // publishes/s over all rooms
      const errors0 = h.errors();
      const pgPids = h.postgresPids(); // the pool is open by now; the same backends at both ends of the window
      const cpu0 = {
        srv: h.serverPids.map(procCpuSeconds),
        redis: rPid ? procCpuSeconds(rPid) : 0,
        pg: sumCpuSeconds(pgPids),
        gen: selfCpuSeconds(),
      };
      inWindow = 0;
      const t0 = performance.now();
      let sent = 0;
      await new Promise<void>((done) => {
        const timer = setInterval(() => {
          const now = performance.now();
          const end = now - t0 >= opts.seconds * 1000;
          const due = Math.floor((pubRate * Math.min(now - t0, opts.seconds * 1000)) / 1000);
          // Rooms round-robin: publisher index walks rooms first, so every room gets its share.
          for (; sent < due; sent++) h.publish(sent % nPubs, step, performance.now());
          if (end) {
            clearInterval(timer);
            done();
          }
        }, 1);
      });
      const windowS = (performance.now() - t0) / 1000;
      const delivered = inWindow;
      const cpu1 = {
        srv: h.serverPids.map(procCpuSeconds),
        redis: rPid ? procCpuSeconds(rPid) : 0,
        pg: sumCpuSeconds(pgPids),
        gen: selfCpuSeconds(),
      };
      const expected = sent * opts.receivers;
      // Grace: late deliveries of this step still count toward delivery % and latency.
      const graceEnd = performance.now() + Math.max(2000, opts.seconds * 1000);
      while (forStep < expected && performance.now() < graceEnd) await sleep(20);
      const srvCpu = cpu1.srv.reduce((a, v, j) => a + v - (cpu0.srv[j] ?? 0), 0);
      const x: StepResult = {
        offered,
        sentPerS: expected / windowS,
        deliveredPerS: delivered / windowS,
        deliveredPct: expected ? (100 * forStep) / expected : 0,
        p50Ms: hist.pct(0.5),
        p99Ms: hist.pct(0.99),
        maxMs: hist.max,
        serverCpuPct: (100 * srvCpu) / windowS,
        redisCpuPct: rPid ? (100 * (cpu1.redis - cpu0.redis)) / windowS : null,
        postgresCpuPct: pgPids.length ? (100 * (cpu1.pg - cpu0.pg)) / windowS : null,
        generatorCpuPct: (100 * (cpu1.gen - cpu0.gen)) / windowS,
        serverUsPerDelivery: delivered ? (srvCpu * 1e6) / delivered : Number.NaN,
        errors: h.errors() - errors0,
        ok: false,
      };
      x.ok = x.p99Ms <= 100 && x.deliveredPct >= 95;
      res.steps.push(x);
      progress(
        `${name} ${offered}/s → delivered ${Math.round(x.deliveredPerS)}/s (${x.deliveredPct.toFixed(1)} %), p50 ${x.p50Ms} ms p99 ${x.p99Ms} ms, ` +
          `servers ${Math.round(x.serverCpuPct)} % CPU = ${x.serverUsPerDelivery.toFixed(2)} µs/delivery, generator ${Math.round(x.generatorCpuPct)} %`,
      );
      // Stop at the first step losing > 5 % of deliveries, or after `patience` steps in a row over
      // p99 100 ms (one noisy 3-second step on a shared 2-core box must not end a system's curve).
      failedInRow = x.ok ? 0 : failedInRow + 1;
      if (x.deliveredPct < 95 || failedInRow >= opts.patience) break;
      await sleep(300);
    }
  };

  for (const name of opts.systems) {
    const res: SystemResult = { system: name, label: LABELS[name], steps: [] };
    results.push(res);
    progress(`${name}: starting servers, connecting ${opts.rooms * (opts.receivers + opts.publishers)} clients`);
    try {
      await runSystem(name, topo, sink, (h) => runSteps(name, h, res));
    } catch (e) {
      res.error = e instanceof Error ? e.message.split('\n')[0] : String(e);
      progress(`${name} failed: ${res.error}`);
    }
    step += 1; // stragglers of a stopped system never count toward the next one
  }

  const summaryAt = opts.steps.includes(50_000) ? 50_000 : (opts.steps[Math.min(1, opts.steps.length - 1)] ?? 0);
  const meta = {
    rooms: opts.rooms,
    receiversPerRoom: opts.receivers,
    publishersPerRoom: opts.publishers,
    bodyBytes: 60,
    stepSeconds: opts.seconds,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    date: new Date().toISOString(),
    uws: measuredUws(),
    // Whether the box was shared with other work: the 1-minute load average at start and end.
    loadAvg1m: loadAtStart,
    loadAvg1mAtEnd: loadavg()[0],
    warmupS: opts.warmupS,
  };
  mkdirSync(opts.outDir, { recursive: true });
  const mdPath = join(opts.outDir, 'fanout.md');
  const svgPath = join(opts.outDir, 'fanout.svg');
  writeFileSync(mdPath, markdown(results, meta, summaryAt));
  writeFileSync(svgPath, svg(results));
  const r1 = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? null : Math.round(v * 10) / 10);
  return {
    quick: opts.quick,
    md: mdPath,
    svg: svgPath,
    elapsedS: r1((performance.now() - started) / 1000),
    machine: { cpuModel: meta.cpuModel, cpus: meta.cpus, loadAvg1m: meta.loadAvg1m, loadAvg1mAtEnd: meta.loadAvg1mAtEnd },
    summaryAt,
    targets: summaryTargets(targets(results)),
    systems: Object.fromEntries(
      results.map((s) => {
        const sat = saturation(s);
        const at = stepAt(s, summaryAt);
        return [
          s.system,
          {
            saturationPerS: sat ? Math.round(sat.deliveredPerS) : null,
            saturationP99Ms: r1(sat?.p99Ms),
            usPerDelivery: at ? Math.round(at.serverUsPerDelivery * 100) / 100 : null,
            steps: s.steps.length,
            ...(s.error ? { error: s.error } : {}),
          },
        ];
      }),
    ),
  };
}

/** The target ratios for the one-line JSON: rounded, null when Parley or Socket.IO (lean) did not run. */
function summaryTargets(t: ReturnType<typeof targets>) {
  if (!t) return null;
  const r2 = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
  return {
    /** Only the loads both systems passed (p99 ≤ 100 ms, ≥ 95 % delivered). */
    cpuRatioByOffered: Object.fromEntries(t.cpuRatio.filter((c) => c.bothPassed).map((c) => [c.offered, r2(c.ratio)])),
    /** Parley's saturation (p99 ≤ 100 ms) ÷ Socket.IO's (target ≥ 1.5) and ÷ the relay's (target ≥ 0.5). */
    saturationVsSocketio: r2(t.saturationRatio.find((s) => s.peer === 'socketio-lean')?.ratio ?? null),
    saturationVsRelay: r2(t.saturationRatio.find((s) => s.peer === 'uws-relay')?.ratio ?? null),
  };
}
