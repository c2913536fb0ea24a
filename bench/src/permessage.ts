import { loadavg } from 'node:os';
import { preciseCpuSeconds, selfCpuSeconds, sumPreciseCpuSeconds } from './cpu.js';
import { Histogram } from './fanout.js';
import { type CommitStats, type Handle, runSystem, type SystemName, type Topology } from './fanout-drivers.js';
import { type Cell, derive, medianOf, type Sample } from './permessage-report.js';
import { startPrivateRedis } from './private-redis.js';
import { countSyscalls } from './syscalls.js';

/**
 * The interleaved runner behind `fanout --per-message` and `small-rooms`: at every load point
 * (cell), every system runs `reps` times, in a rotated order per repetition (A B C D, B C D A, …),
 * each trial on fresh processes — its own redis-server, fresh server nodes, a fresh database, fresh
 * client connections — then a warm-up at the cell's rate, then one measured window. Medians of the
 * repetitions are what is reported: this machine's speed drifts within minutes, so only figures
 * taken side by side, alternating, compare.
 */
export interface RunOptions {
  systems: SystemName[];
  cells: Cell[];
  topo(cell: Cell): Omit<Topology, 'redisUrl'>;
  reps: number;
  warmupS: number;
  windowS: number;
  /** A system whose medians fail this many sweep cells in a row is not offered higher ones. */
  patience: number;
  say(message: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runInterleaved(opts: RunOptions): Promise<Sample[]> {
  const samples: Sample[] = [];
  const failedInRow = new Map<SystemName, number>();
  // Shared by every trial: deliveries of the current step go into its histogram.
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

  /** Publishes at `msgPerS` for `seconds`, round-robin over the publishers; returns how many it sent. */
  const pace = (h: Handle, nPubs: number, msgPerS: number, seconds: number): Promise<number> => {
    const t0 = performance.now();
    let sent = 0;
    return new Promise((done) => {
      const timer = setInterval(() => {
        const now = performance.now();
        const end = now - t0 >= seconds * 1000;
        const due = Math.floor((msgPerS * Math.min(now - t0, seconds * 1000)) / 1000);
        for (; sent < due; sent++) h.publish(sent % nPubs, step, performance.now());
        if (end) {
          clearInterval(timer);
          done(sent);
        }
      }, 1);
    });
  };

  const trial = async (system: SystemName, cell: Cell, rep: number): Promise<Sample> => {
    const redis = await startPrivateRedis();
    const load1 = loadavg()[0] ?? Number.NaN;
    try {
      const topo: Topology = { ...opts.topo(cell), redisUrl: redis.url };
      const nPubs = topo.layout === 'members' ? topo.rooms * topo.receiversPerRoom : topo.rooms * topo.publishersPerRoom;
      return await runSystem(system, topo, sink, async (h) => {
        // Warm-up: the same rate, so that V8 has compiled the paths this load takes (see README);
        // then its backlog drains, so that none of its work lands in the measured span.
        const drain = async (expected: number, graceS: number) => {
          const end = performance.now() + graceS * 1000;
          while (forStep < expected && performance.now() < end) await sleep(10);
        };
        step += 1;
        forStep = 0;
        const warmSent = await pace(h, nPubs, cell.msgPerS, opts.warmupS);
        await drain(warmSent * cell.deliveriesPerMsg, Math.max(2, opts.warmupS));
        await sleep(100);
        step += 1;
        hist = new Histogram();
        forStep = 0;
        const pgPids = h.postgresPids();
        const errors0 = h.errors();
        const commits0: CommitStats | null = h.commitStats ? await h.commitStats() : null;
        const snap = () => ({
          servers: sumPreciseCpuSeconds(h.serverPids),
          redis: preciseCpuSeconds(redis.pid),
          postgres: sumPreciseCpuSeconds(pgPids),
          generator: selfCpuSeconds(),
        });
        const stopSyscalls = countSyscalls(h.serverPids);
        const cpu0 = snap();
        inWindow = 0;
        const t0 = performance.now();
        const messages = await pace(h, nPubs, cell.msgPerS, opts.windowS);
        const windowS = (performance.now() - t0) / 1000;
        const deliveries = inWindow;
        // The measured span runs until the window's last delivery (or the grace ends): a system
        // that fell behind does the window's work after the window, and that CPU is the window's.
        const expected = messages * cell.deliveriesPerMsg;
        await drain(expected, Math.max(2, opts.windowS));
        const drainS = (performance.now() - t0) / 1000 - windowS;
        const cpu1 = snap();
        const syscalls = await stopSyscalls();
        // A backend that connected during the span (a pool growing) spent all its CPU inside it.
        const lateCpu = sumPreciseCpuSeconds(h.postgresPids().filter((p) => !pgPids.includes(p)));
        // Commits are read after the grace: every message of the window has been committed by then.
        const commits1 = h.commitStats ? await h.commitStats() : null;
        return {
          system,
          cell: cell.key,
          rep,
          windowS,
          drainS,
          messages,
          deliveries,
          deliveredPct: expected ? (100 * forStep) / expected : 0,
          p50Ms: hist.pct(0.5),
          p99Ms: hist.pct(0.99),
          cpuS: {
            servers: cpu1.servers - cpu0.servers,
            redis: cpu1.redis - cpu0.redis,
            postgres: cpu1.postgres - cpu0.postgres + lateCpu,
            generator: cpu1.generator - cpu0.generator,
          },
          syscalls,
          commits:
            commits0 && commits1 ? { commits: commits1.commits - commits0.commits, messages: commits1.messages - commits0.messages } : null,
          errors: h.errors() - errors0,
          load1,
        };
      });
    } finally {
      step += 1; // stragglers of this trial never count toward the next one
      await redis.stop();
    }
  };

  for (const cell of opts.cells) {
    const bySystem = new Map<SystemName, ReturnType<typeof derive>[]>();
    for (let rep = 0; rep < opts.reps; rep++) {
      const order = opts.systems.map((_, i) => opts.systems[(i + rep) % opts.systems.length] as SystemName);
      for (const system of order) {
        // A fixed load runs for every system; a sweep step only for those still passing.
        if (!cell.fixed && (failedInRow.get(system) ?? 0) >= opts.patience) continue;
        opts.say(`${cell.key} rep ${rep + 1}/${opts.reps}: ${system} at ${cell.msgPerS} msg/s (${cell.receivers} per room)`);
        try {
          const s = await trial(system, cell, rep);
          samples.push(s);
          const d = derive(s);
          bySystem.set(system, [...(bySystem.get(system) ?? []), d]);
          opts.say(
            `  ${system}: ${Math.round(d.msgPerS)} msg/s, delivered ${d.deliveredPct.toFixed(1)} %, p50 ${d.p50Ms} p99 ${d.p99Ms} ms, ` +
              `machine ${Math.round(d.usPerMsg.machine)} µs/msg (servers ${Math.round(d.usPerMsg.servers)}, Redis ${Math.round(d.usPerMsg.redis)}, ` +
              `Postgres ${Math.round(d.usPerMsg.postgres)}), syscalls/msg ${d.syscallsPerMsg?.toFixed(1) ?? '—'}, msgs/commit ${d.msgsPerCommit?.toFixed(2) ?? '—'}, load ${s.load1.toFixed(1)}`,
          );
        } catch (e) {
          opts.say(`  ${system} failed: ${e instanceof Error ? e.message.split('\n')[0] : e}`);
        }
        await sleep(300);
      }
    }
    if (cell.sweep) {
      for (const system of opts.systems) {
        const ds = bySystem.get(system);
        if (!ds) continue;
        failedInRow.set(system, medianOf(ds).ok ? 0 : (failedInRow.get(system) ?? 0) + 1);
      }
    }
  }
  return samples;
}
