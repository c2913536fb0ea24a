import type { CommitStats, SystemName } from './fanout-drivers.js';
import type { SyscallCounts } from './syscalls.js';

/** One load point of an interleaved run: a topology and an offered message rate. */
export interface Cell {
  /** Short id, e.g. `r100@200` or `1000`. */
  key: string;
  /** Members or receivers per room (fan-out per message, before the publisher's echo). */
  receivers: number;
  /** Offered messages/s over all rooms. */
  msgPerS: number;
  /** Deliveries counted per message (receivers; in small rooms every member, the sender's echo included). */
  deliveriesPerMsg: number;
  /** Part of the saturation sweep (stepping stops for a system once its median fails). */
  sweep: boolean;
  /** A fixed load whose CPU per message is reported on its own. */
  fixed: boolean;
}

/** What one trial (fresh processes, warm-up, one measured window) measured. */
export interface Sample {
  system: SystemName;
  cell: string;
  rep: number;
  windowS: number;
  /** From the window's end to its last delivery (or the grace's end): CPU and syscalls cover window + drain. */
  drainS: number;
  /** Messages published in the window. */
  messages: number;
  /** Deliveries received in the window (any step; late ones of the warm-up included, as CPU is). */
  deliveries: number;
  /** Share of the window's expected deliveries that arrived, within the grace period. */
  deliveredPct: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU seconds over the window. */
  cpuS: { servers: number; redis: number; postgres: number; generator: number };
  syscalls: SyscallCounts | null;
  /** Commits and committed messages over the window (null: the system does not commit). */
  commits: CommitStats | null;
  errors: number;
  /** 1-minute load average when the trial started. */
  load1: number;
}

/** The figures derived from a sample (and, as medians over repetitions, of a cell × system). */
export interface Derived {
  msgPerS: number;
  deliveredPerS: number;
  deliveredPct: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU-µs per message: server processes, Redis, Postgres backends, and their sum (machine). */
  usPerMsg: { servers: number; redis: number; postgres: number; machine: number };
  /** Machine (servers + Redis + Postgres) CPU-µs per delivery. */
  usPerDelivery: number;
  /** Server processes' syscalls per message, and the epoll waits (wakeups) among them. */
  syscallsPerMsg: number | null;
  wakeupsPerMsg: number | null;
  msgsPerCommit: number | null;
  generatorCpuPct: number;
  ok: boolean;
}

export const P99_LIMIT_MS = 100;
export const DELIVERED_MIN_PCT = 95;

export function derive(s: Sample): Derived {
  const per = (cpuS: number) => (s.messages ? (cpuS * 1e6) / s.messages : Number.NaN);
  const machine = s.cpuS.servers + s.cpuS.redis + s.cpuS.postgres;
  const sys = s.syscalls;
  return {
    msgPerS: s.messages / s.windowS,
    deliveredPerS: s.deliveries / s.windowS,
    deliveredPct: s.deliveredPct,
    p50Ms: s.p50Ms,
    p99Ms: s.p99Ms,
    usPerMsg: { servers: per(s.cpuS.servers), redis: per(s.cpuS.redis), postgres: per(s.cpuS.postgres), machine: per(machine) },
    usPerDelivery: s.deliveries ? (machine * 1e6) / s.deliveries : Number.NaN,
    syscallsPerMsg: sys && s.messages ? sys.total / s.messages : null,
    wakeupsPerMsg: sys && s.messages && Number.isFinite(sys.epoll) ? sys.epoll / s.messages : null,
    msgsPerCommit: s.commits?.commits ? s.commits.messages / s.commits.commits : null,
    generatorCpuPct: (100 * s.cpuS.generator) / (s.windowS + s.drainS),
    ok: passes(s.p99Ms, s.deliveredPct),
  };
}

const passes = (p99Ms: number, deliveredPct: number) => p99Ms <= P99_LIMIT_MS && deliveredPct >= DELIVERED_MIN_PCT;

/** The median of the finite values (mean of the middle two when even); NaN when there is none. */
export function median(xs: readonly number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return Number.NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
}

const medianOrNull = (xs: readonly (number | null)[]) => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? median(v) : null;
};

/**
 * The median of each figure over repetitions, taken figure by figure (the median CPU need not
 * come from the same trial as the median p99). `ok` is judged on the medians.
 */
export function medianOf(samples: readonly Derived[]): Derived {
  const m = (f: (d: Derived) => number) => median(samples.map(f));
  const p99Ms = m((d) => d.p99Ms);
  const deliveredPct = m((d) => d.deliveredPct);
  return {
    msgPerS: m((d) => d.msgPerS),
    deliveredPerS: m((d) => d.deliveredPerS),
    deliveredPct,
    p50Ms: m((d) => d.p50Ms),
    p99Ms,
    usPerMsg: {
      servers: m((d) => d.usPerMsg.servers),
      redis: m((d) => d.usPerMsg.redis),
      postgres: m((d) => d.usPerMsg.postgres),
      machine: m((d) => d.usPerMsg.machine),
    },
    usPerDelivery: m((d) => d.usPerDelivery),
    syscallsPerMsg: medianOrNull(samples.map((d) => d.syscallsPerMsg)),
    wakeupsPerMsg: medianOrNull(samples.map((d) => d.wakeupsPerMsg)),
    msgsPerCommit: medianOrNull(samples.map((d) => d.msgsPerCommit)),
    generatorCpuPct: m((d) => d.generatorCpuPct),
    ok: passes(p99Ms, deliveredPct),
  };
}

/** a / b, or null when either is missing, not finite, or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

/** Medians per cell and system: `table[cell][system]`. */
export type MedianTable = Record<string, Partial<Record<SystemName, Derived>>>;

export function medianTable(samples: readonly Sample[]): MedianTable {
  const groups = new Map<string, Derived[]>();
  for (const s of samples) {
    const k = `${s.cell}\u0000${s.system}`;
    groups.set(k, [...(groups.get(k) ?? []), derive(s)]);
  }
  const out: MedianTable = {};
  for (const [k, ds] of groups) {
    const [cell, system] = k.split('\u0000') as [string, SystemName];
    out[cell] = { ...(out[cell] ?? {}), [system]: medianOf(ds) };
  }
  return out;
}

/**
 * Saturation of a system in a sweep: the highest median messages/s delivered at a cell of the
 * sweep's topology whose medians passed (p99 ≤ 100 ms, ≥ 95 % delivered) — a fixed load of the
 * same topology counts, so a system that failed the sweep's first step still has the fixed load it
 * passed. `failsAt`: the next cell above that one which it failed (the saturation lies between);
 * `lowerBound` when there is none (it passed everything it was offered): then it is not a
 * measured saturation.
 */
export function saturationOf(
  cells: readonly Cell[],
  table: MedianTable,
  system: SystemName,
): { msgPerS: number; cell: string; failsAt: string | null; lowerBound: boolean } | null {
  const topology = new Set(cells.filter((c) => c.sweep).map((c) => c.receivers));
  const offered = cells.filter((c) => topology.has(c.receivers) && table[c.key]?.[system]).sort((a, b) => a.msgPerS - b.msgPerS);
  let best: { msgPerS: number; cell: string; at: number } | null = null;
  for (const c of offered) {
    const d = table[c.key]?.[system];
    if (!d?.ok) continue;
    const delivered = d.deliveredPerS / c.deliveriesPerMsg;
    if (!best || delivered > best.msgPerS) best = { msgPerS: delivered, cell: c.key, at: c.msgPerS };
  }
  if (!best) return null;
  const at = best.at;
  const failsAt = offered.find((c) => c.msgPerS > at && !table[c.key]?.[system]?.ok)?.key ?? null;
  return { msgPerS: best.msgPerS, cell: best.cell, failsAt, lowerBound: failsAt === null };
}

/**
 * Least-squares fit of machine CPU per message against receivers per room: µs/msg = a + b × R.
 * a is the per-message cost (what a message costs with no one to deliver it to), b the cost of
 * each delivery. Needs ≥ 2 distinct R; null otherwise.
 */
export function perMessageFit(
  points: readonly { receivers: number; usPerMsg: number }[],
): { perMessageUs: number; perDeliveryUs: number } | null {
  const p = points.filter((x) => Number.isFinite(x.usPerMsg));
  if (new Set(p.map((x) => x.receivers)).size < 2) return null;
  const n = p.length;
  const mx = p.reduce((a, x) => a + x.receivers, 0) / n;
  const my = p.reduce((a, x) => a + x.usPerMsg, 0) / n;
  const sxy = p.reduce((a, x) => a + (x.receivers - mx) * (x.usPerMsg - my), 0);
  const sxx = p.reduce((a, x) => a + (x.receivers - mx) ** 2, 0);
  const b = sxy / sxx;
  return { perMessageUs: my - b * mx, perDeliveryUs: b };
}

export interface Ratios {
  /** Per cell: whether both Parley's and the peer's medians passed (p99 ≤ 100 ms, ≥ 95 % delivered). */
  bothPassed: Record<string, Partial<Record<SystemName, boolean>>>;
  /** Per cell: Parley's machine CPU per message over each peer's. */
  cpuPerMsg: Record<string, Partial<Record<SystemName, number | null>>>;
  /** Per cell: Parley's Postgres CPU per message over the persisting peer's. */
  postgresPerMsg: Record<string, Partial<Record<SystemName, number | null>>>;
  /** Per cell: Parley's p50 over each peer's. */
  p50: Record<string, Partial<Record<SystemName, number | null>>>;
  /** Parley's saturation over each peer's (null without a saturation on both sides). */
  saturation: Partial<Record<SystemName, number | null>>;
}

/** Parley / peer ratios of one run's medians. */
export function ratios(cells: readonly Cell[], table: MedianTable, systems: readonly SystemName[]): Ratios {
  const peers = systems.filter((s) => s !== 'parley');
  const out: Ratios = { bothPassed: {}, cpuPerMsg: {}, postgresPerMsg: {}, p50: {}, saturation: {} };
  for (const c of cells) {
    const a = table[c.key]?.parley;
    if (!a) continue;
    out.bothPassed[c.key] = {};
    out.cpuPerMsg[c.key] = {};
    out.postgresPerMsg[c.key] = {};
    out.p50[c.key] = {};
    for (const peer of peers) {
      const b = table[c.key]?.[peer];
      if (!b) continue;
      // Computed either way; a failed median is marked where it is printed (past saturation a
      // system batches behind its backlog, so its CPU per message drops while latency explodes).
      (out.bothPassed[c.key] as Record<string, boolean>)[peer] = a.ok && b.ok;
      (out.cpuPerMsg[c.key] as Record<string, number | null>)[peer] = ratio(a.usPerMsg.machine, b.usPerMsg.machine);
      if (b.usPerMsg.postgres > 0)
        (out.postgresPerMsg[c.key] as Record<string, number | null>)[peer] = ratio(a.usPerMsg.postgres, b.usPerMsg.postgres);
      (out.p50[c.key] as Record<string, number | null>)[peer] = ratio(a.p50Ms, b.p50Ms);
    }
  }
  if (cells.some((c) => c.sweep)) {
    const mine = saturationOf(cells, table, 'parley');
    for (const peer of peers) {
      const theirs = saturationOf(cells, table, peer);
      out.saturation[peer] = mine && theirs ? ratio(mine.msgPerS, theirs.msgPerS) : null;
    }
  }
  return out;
}

// ---------------------------------------------------------------- markdown

const r1 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : String(Math.round(x * 10) / 10));
const r2 = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : String(Math.round(x * 100) / 100);
const int = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : String(Math.round(x)));

/** The per-cell medians as a table: one row per cell × system. */
export function medianRows(
  cells: readonly Cell[],
  table: MedianTable,
  systems: readonly SystemName[],
  labels: Record<string, string>,
): string[] {
  const out = [
    '| load | system | msg/s | delivered/s | delivered % | p50 ms | p99 ms | µs/msg machine | servers | Redis | Postgres | µs/delivery | syscalls/msg | wakeups/msg | msgs/commit | generator CPU % |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const c of cells) {
    for (const sys of systems) {
      const d = table[c.key]?.[sys];
      if (!d) continue;
      out.push(
        `| ${c.key} | ${labels[sys] ?? sys} | ${int(d.msgPerS)} | ${int(d.deliveredPerS)} | ${r1(d.deliveredPct)}${d.ok ? '' : ' ✗'} | ${r1(d.p50Ms)} | ${r1(d.p99Ms)} | ${int(d.usPerMsg.machine)} | ${int(d.usPerMsg.servers)} | ${int(d.usPerMsg.redis)} | ${int(d.usPerMsg.postgres)} | ${r2(d.usPerDelivery)} | ${r1(d.syscallsPerMsg)} | ${r1(d.wakeupsPerMsg)} | ${r2(d.msgsPerCommit)} | ${int(d.generatorCpuPct)} |`,
      );
    }
  }
  return out;
}

/** The ratio tables: Parley / peer per cell (CPU per message, Postgres per message, p50) and saturation. */
export function ratioRows(cells: readonly Cell[], r: Ratios, systems: readonly SystemName[], labels: Record<string, string>): string[] {
  const peers = systems.filter((s) => s !== 'parley');
  const out = [
    `| load | ${peers.map((p) => `CPU/msg ÷ ${labels[p] ?? p}`).join(' | ')} | ${peers.map((p) => `p50 ÷ ${labels[p] ?? p}`).join(' | ')} |`,
    `|---|${peers.map(() => '---:').join('|')}|${peers.map(() => '---:').join('|')}|`,
  ];
  const mark = (cell: string, p: SystemName, x: number | null | undefined) =>
    `${r2(x)}${x !== null && x !== undefined && r.bothPassed[cell]?.[p] === false ? ' ✗' : ''}`;
  for (const c of cells) {
    if (!r.cpuPerMsg[c.key]) continue;
    out.push(
      `| ${c.key} | ${peers.map((p) => mark(c.key, p, r.cpuPerMsg[c.key]?.[p])).join(' | ')} | ${peers.map((p) => mark(c.key, p, r.p50[c.key]?.[p])).join(' | ')} |`,
    );
  }
  const pg = Object.entries(r.postgresPerMsg).flatMap(([cell, v]) =>
    Object.entries(v).map(([peer, x]) => `${cell}: ${mark(cell, peer as SystemName, x)} of ${labels[peer] ?? peer}'s`),
  );
  if (pg.length) out.push('', `Parley's Postgres CPU per message ÷ the persisting peer's: ${pg.join('; ')}.`);
  if (Object.keys(r.saturation).length) {
    out.push(
      '',
      `Saturation (messages/s at p99 ≤ ${P99_LIMIT_MS} ms, ≥ ${DELIVERED_MIN_PCT} % delivered), Parley ÷ peer: ${peers.map((p) => `${labels[p] ?? p} ${r2(r.saturation[p])}`).join(', ')}.`,
    );
  }
  out.push(
    '',
    "✗ = Parley's or the peer's median failed p99 ≤ 100 ms or ≥ 95 % delivery at that load: that ratio is no verdict. — = a figure is missing.",
  );
  return out;
}
