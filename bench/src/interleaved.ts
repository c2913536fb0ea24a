import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS } from './fanout.js';
import { SYSTEMS, type SystemName, type Topology } from './fanout-drivers.js';
import { runInterleaved } from './permessage.js';
import {
  type Cell,
  type Derived,
  median,
  medianRows,
  medianTable,
  perMessageFit,
  ratioRows,
  ratios,
  saturationOf,
} from './permessage-report.js';
import { flag, machine, outDir, progress, reportHead, writeReport } from './report.js';

/**
 * The two interleaved scenarios (fresh processes per trial, systems alternating at every load,
 * medians of `reps`; see permessage.ts):
 *
 *   fanout --per-message   10 rooms × 100 / 20 / 4 receivers + 2 publishers per room, 2 nodes, the
 *                          same messages/s at every fan-out (default 200/s = 20k deliveries/s at
 *                          100), so the cost of a message and of a delivery separate (fit: µs/msg =
 *                          a + b × receivers).
 *   small-rooms            400 rooms × 4 members over 2 nodes, every member sends; open-loop
 *                          messages/s stepped until a system's median p99 > 100 ms; 500 and 1,000
 *                          msg/s are also reported on their own as fixed loads.
 *
 * Systems by default: Parley, Socket.IO + redis-adapter (lean client), the same + a postgres.js
 * INSERT per message before the emit, and the bare uWS + ioredis relay.
 */
export const PER_MESSAGE_SYSTEMS: SystemName[] = ['parley', 'socketio-lean', 'socketio-pg', 'uws-relay'];

const SHORT: Record<string, string> = {
  parley: 'Parley',
  'socketio-lean': 'Socket.IO',
  'socketio-pg': 'Socket.IO+pg',
  'socketio-client': 'Socket.IO (client)',
  'uws-relay': 'uWS relay',
  'uws-relay-pg': 'uWS relay+pg',
  'uws-single': 'uWS single',
  'parley-b': 'Parley (B)',
};

export interface InterleavedOptions {
  scenario: 'fanout-per-message' | 'small-rooms';
  systems: SystemName[];
  cells: Cell[];
  rooms: number;
  publishers: number;
  reps: number;
  warmupS: number;
  windowS: number;
  patience: number;
  outDir: string;
  quick: boolean;
  command: string;
}

const list = (s: string | undefined) => s?.split(',').filter(Boolean);

function common(args: string[], quick: boolean, warmupDefault: number) {
  const systems = (list(flag(args, 'systems')) ?? (quick ? ['parley', 'socketio-pg', 'uws-relay'] : PER_MESSAGE_SYSTEMS)) as SystemName[];
  for (const s of systems) if (!SYSTEMS.includes(s)) throw new Error(`unknown system "${s}": use ${SYSTEMS.join(' | ')}`);
  return {
    systems,
    reps: Number(flag(args, 'reps') ?? (quick ? 1 : 3)),
    warmupS: Number(flag(args, 'warmup') ?? (quick ? 1 : warmupDefault)),
    windowS: Number(flag(args, 'seconds') ?? (quick ? 1 : 4)),
    patience: Number(flag(args, 'patience') ?? 1),
    quick,
  };
}

/** `fanout --per-message [--receivers=100,20,4] [--rate=200] [--rooms=10] [--publishers=2] [--sweep=…] …` */
export function parsePerMessageArgs(args: string[]): InterleavedOptions {
  const quick = args.includes('--quick');
  // 15 s at 200 msg/s: see the README (bench) on how long V8 takes to finish compiling.
  const c = common(args, quick, 15);
  const receivers = (list(flag(args, 'receivers')) ?? (quick ? ['20', '4'] : ['100', '20', '4'])).map(Number);
  const rate = Number(flag(args, 'rate') ?? (quick ? 100 : 200));
  const rooms = Number(flag(args, 'rooms') ?? (quick ? 2 : 10));
  const cells: Cell[] = receivers.map((r) => ({
    key: `${r}×${rate}`,
    receivers: r,
    msgPerS: rate,
    deliveriesPerMsg: r,
    sweep: false,
    fixed: true,
  }));
  // Optional saturation sweep at the first fan-out, in deliveries/s (as the plain fanout scenario).
  const r0 = receivers[0] ?? 100;
  for (const d of (list(flag(args, 'sweep')) ?? []).map(Number)) {
    cells.push({ key: `${r0}×${Math.round(d / r0)}`, receivers: r0, msgPerS: d / r0, deliveriesPerMsg: r0, sweep: true, fixed: false });
  }
  return {
    scenario: 'fanout-per-message',
    ...c,
    cells,
    rooms,
    publishers: Number(flag(args, 'publishers') ?? (quick ? 1 : 2)),
    outDir: flag(args, 'out') ?? (quick ? join(tmpdir(), `parley-per-message-quick-${process.pid}`) : outDir(args)),
    command: ['npm run bench -- fanout', ...args].join(' '),
  };
}

/** `small-rooms [--rooms=400] [--members=4] [--steps=500,1000,…] [--fixed=500,1000] …` */
export function parseSmallRoomsArgs(args: string[]): InterleavedOptions {
  const quick = args.includes('--quick');
  // 8 s: ≥ 4,000 messages at the lowest step (500/s), about what 200 msg/s reaches in 20 s.
  const c = common(args, quick, 8);
  const members = Number(flag(args, 'members') ?? 4);
  const fixed = (list(flag(args, 'fixed')) ?? (quick ? ['50'] : ['500', '1000'])).map(Number);
  const steps = (list(flag(args, 'steps')) ?? (quick ? ['50', '100'] : ['500', '1000', '2000', '4000', '8000', '16000'])).map(Number);
  const rates = [...new Set([...fixed, ...steps])].sort((a, b) => a - b);
  return {
    scenario: 'small-rooms',
    ...c,
    cells: rates.map((r) => ({
      key: String(r),
      receivers: members,
      msgPerS: r,
      deliveriesPerMsg: members,
      sweep: steps.includes(r),
      fixed: fixed.includes(r),
    })),
    rooms: Number(flag(args, 'rooms') ?? (quick ? 20 : 400)),
    publishers: 0,
    outDir: flag(args, 'out') ?? (quick ? join(tmpdir(), `parley-small-rooms-quick-${process.pid}`) : outDir(args)),
    command: ['npm run bench -- small-rooms', ...args].join(' '),
  };
}

export async function interleaved(o: InterleavedOptions) {
  const say = progress(o.scenario);
  const started = performance.now();
  const before = machine();
  const topo = (cell: Cell): Omit<Topology, 'redisUrl'> =>
    o.scenario === 'small-rooms'
      ? { rooms: o.rooms, receiversPerRoom: cell.receivers, publishersPerRoom: 0, layout: 'members' }
      : { rooms: o.rooms, receiversPerRoom: cell.receivers, publishersPerRoom: o.publishers, layout: 'fanout' };
  const samples = await runInterleaved({
    systems: o.systems,
    cells: o.cells,
    topo,
    reps: o.reps,
    warmupS: o.warmupS,
    windowS: o.windowS,
    patience: o.patience,
    say,
  });
  const table = medianTable(samples);
  const r = ratios(o.cells, table, o.systems);
  const loads = samples.map((s) => s.load1);
  const meta = {
    ...before,
    loadAvg1mAtEnd: machine().loadAvg1m,
    loadAvg1mPerTrial: { min: Math.min(...loads), median: median(loads), max: Math.max(...loads) },
    rooms: o.rooms,
    ...(o.scenario === 'fanout-per-message' ? { publishersPerRoom: o.publishers } : {}),
    reps: o.reps,
    warmupS: o.warmupS,
    windowS: o.windowS,
    trials: samples.length,
    syscallSource: samples.find((s) => s.syscalls)?.syscalls?.source ?? null,
    elapsedS: Math.round((performance.now() - started) / 1000),
  };
  const labels = Object.fromEntries(o.systems.map((s) => [s, SHORT[s] ?? s]));
  const fits =
    o.scenario === 'fanout-per-message'
      ? Object.fromEntries(
          o.systems.map((s) => [
            s,
            perMessageFit(
              o.cells
                .filter((c) => c.fixed)
                .map((c) => ({ receivers: c.receivers, usPerMsg: table[c.key]?.[s]?.usPerMsg.machine ?? Number.NaN })),
            ),
          ]),
        )
      : null;
  const saturation = o.cells.some((c) => c.sweep) ? Object.fromEntries(o.systems.map((s) => [s, saturationOf(o.cells, table, s)])) : null;

  const md = [
    ...reportHead(o.scenario === 'small-rooms' ? 'small-rooms (interleaved)' : 'fanout per message (interleaved)', o.command, meta),
    `Systems: ${o.systems.map((s) => `${labels[s]} = ${LABELS[s]}`).join('; ')}.`,
    '',
    `Every trial: fresh processes (own redis-server, server nodes, database, clients), ${o.warmupS} s warm-up at the load, ${o.windowS} s measured; ` +
      `${o.reps} repetitions per load in rotated system order; the figures are medians. CPU per message = CPU time from the window's start until its last delivery arrived (a system that fell behind does the window's work after it) ÷ messages published in the window; ` +
      "machine = servers + Redis + the system's Postgres backends (the generator is not counted). Syscalls and wakeups (epoll waits) are the server processes' (perf stat).",
    '',
    '## Medians',
    '',
    ...medianRows(o.cells, table, o.systems, labels),
    '',
    '## Ratios, Parley ÷ peer (same run)',
    '',
    ...ratioRows(o.cells, r, o.systems, labels),
    '',
  ];
  if (fits) {
    md.push('## Per message vs per delivery (fit over the fan-outs: machine µs/msg = a + b × receivers)', '');
    md.push('| system | a: µs per message | b: µs per delivery |', '|---|---:|---:|');
    for (const s of o.systems) md.push(`| ${labels[s]} | ${fmt(fits[s]?.perMessageUs)} | ${fmt(fits[s]?.perDeliveryUs, 2)} |`);
    md.push('');
  }
  if (saturation) {
    md.push(
      '## Saturation (messages/s, median p99 ≤ 100 ms and ≥ 95 % delivered)',
      '',
      '| system | msg/s | passed at | failed at | |',
      '|---|---:|---|---|---|',
    );
    for (const s of o.systems) {
      const x = saturation[s];
      md.push(
        `| ${labels[s]} | ${x ? fmt(x.msgPerS, 0) : '—'} | ${x?.cell ?? '—'} | ${x?.failsAt ?? '—'} | ${x?.lowerBound ? 'lower bound: passed every step it was offered' : ''} |`,
      );
    }
    md.push(
      '',
      "A system's saturation lies between the load it passed and the next one it failed; a ratio of two saturations is only as fine as the steps.",
    );
    md.push('');
  }
  const path = writeReport(o.outDir, `${o.scenario}.md`, `${md.join('\n')}\n`);
  say(`wrote ${path}`);

  const pick = (d: Derived | undefined) =>
    d && {
      msgPerS: fmtN(d.msgPerS, 0),
      deliveredPct: fmtN(d.deliveredPct, 1),
      p50Ms: fmtN(d.p50Ms, 1),
      p99Ms: fmtN(d.p99Ms, 1),
      usPerMsg: Object.fromEntries(Object.entries(d.usPerMsg).map(([k, v]) => [k, fmtN(v, 0)])),
      usPerDelivery: fmtN(d.usPerDelivery, 2),
      syscallsPerMsg: d.syscallsPerMsg === null ? null : fmtN(d.syscallsPerMsg, 1),
      wakeupsPerMsg: d.wakeupsPerMsg === null ? null : fmtN(d.wakeupsPerMsg, 1),
      msgsPerCommit: d.msgsPerCommit === null ? null : fmtN(d.msgsPerCommit, 2),
      ok: d.ok,
    };
  const round2 = (rec: Record<string, Partial<Record<string, number | null>>>) =>
    Object.fromEntries(
      Object.entries(rec).map(([k, v]) => [
        k,
        Object.fromEntries(Object.entries(v).map(([p, x]) => [p, x === null || x === undefined ? null : fmtN(x, 2)])),
      ]),
    );
  return {
    quick: o.quick,
    md: path,
    meta,
    medians: Object.fromEntries(
      o.cells.map((c) => [c.key, Object.fromEntries(o.systems.map((s) => [s, pick(table[c.key]?.[s]) ?? null]))]),
    ),
    ratios: {
      /** Where false, Parley's or the peer's median failed p99 ≤ 100 ms / ≥ 95 %: that ratio is no verdict. */
      bothPassed: r.bothPassed,
      cpuPerMsg: round2(r.cpuPerMsg),
      postgresPerMsg: round2(r.postgresPerMsg),
      p50: round2(r.p50),
      saturation: Object.fromEntries(Object.entries(r.saturation).map(([p, x]) => [p, x === null || x === undefined ? null : fmtN(x, 2)])),
    },
    ...(fits ? { fits } : {}),
    ...(saturation ? { saturation } : {}),
  };
}

const fmtN = (x: number, d: number) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const fmt = (x: number | undefined, d = 0) => (x === undefined || !Number.isFinite(x) ? '—' : String(fmtN(x, d)));
