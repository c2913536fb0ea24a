import { reportHead } from './report.js';

export interface Percentiles {
  p50: number | null;
  p99: number | null;
  max: number | null;
}

/** Per part of the system under test; Redis is the whole (shared) server. */
export interface CpuTotals {
  gateways: number;
  haproxy: number;
  postgres: number;
  redis: number;
  generator: number;
}

/** The same, each gateway apart. */
export type CpuPerGateway = Omit<CpuTotals, 'gateways'> & { gateways: number[] };

export interface StormResult {
  clients: number;
  channels: number;
  joined: number;
  failed: number;
  failedPct: number;
  /** Failure kind → count, most frequent first. */
  failures: Record<string, number>;
  firstError: string | null;
  /** Indices of the failed clients (guest storm-<i>; first 20): which part of the burst they were in. */
  failedClients: number[];
  /** Joined, then closed during the hold after the storm. */
  closedAfterJoin: number;
  /** How long the synchronous loop creating every WebSocket took (no I/O happens meanwhile). */
  issuedMs: number;
  allOpenedMs: number;
  /** Until the last successful join; null if none joined. */
  allJoinedMs: number | null;
  connectionsPerS: number | null;
  connectToOpenMs: Percentiles;
  connectToJoinedMs: Percentiles;
  /** WebSocket messages and payload bytes the clients received until the storm was over (mostly presence diff batches). */
  received: { messages: number; bytes: number };
  nodes: Record<string, { joined: number; openConnections: number | null; haproxySessions: number }>;
  /** Over the storm (until all joined or the timeout); Postgres = the backends serving this run's database. */
  cpuPctOfOneCore: CpuPerGateway;
  /**
   * CPU time each part spent per joined client over the storm (connect, guest account, Join,
   * presence fan-out): steadier than wall time on a shared box.
   */
  cpuMsPerJoinedClient: CpuTotals;
  haproxySessionLimit: number;
  /** HAProxy's log lines (httplog, written when a session ends) of the failed sessions (first 10). */
  haproxyLogOfFailed: string[];
}

const ms = (v: number | null) => (v === null ? '—' : `${v}`);

export function stormMarkdown(r: StormResult, meta: Record<string, unknown>): string {
  const failures = Object.entries(r.failures);
  const cpu = r.cpuPctOfOneCore;
  const per = r.cpuMsPerJoinedClient;
  return [
    ...reportHead(`connect-storm, ${r.clients} clients`, `npm run bench -- connect-storm ${r.clients}`, meta),
    `2 gateways (cluster mode: local Redis, throwaway Postgres DB) behind HAProxy (infra/haproxy/haproxy.cfg,`,
    `leastconn). ${r.clients} guest WebSockets are created in one synchronous loop (no pacing, no retries) and`,
    `each sends Join for one of ${r.channels} channels as soon as it is open. Latencies are from a client's`,
    '`new WebSocket` to its open / its Join reply, in the one generator process.',
    '',
    '| | |',
    '|---|---:|',
    `| clients | ${r.clients} |`,
    `| joined | ${r.joined} |`,
    `| failed | ${r.failed} (${r.failedPct} %) |`,
    `| time until all joined (ms) | ${ms(r.allJoinedMs)} |`,
    `| time until all open (ms) | ${r.allOpenedMs} |`,
    `| connections/s (joined / time until all joined) | ${r.connectionsPerS ?? '—'} |`,
    `| connect → joined p50 / p99 / max (ms) | ${ms(r.connectToJoinedMs.p50)} / ${ms(r.connectToJoinedMs.p99)} / ${ms(r.connectToJoinedMs.max)} |`,
    `| connect → open p50 / p99 / max (ms) | ${ms(r.connectToOpenMs.p50)} / ${ms(r.connectToOpenMs.p99)} / ${ms(r.connectToOpenMs.max)} |`,
    `| loop creating the sockets (ms) | ${r.issuedMs} |`,
    `| joined, then closed in the hold after the storm | ${r.closedAfterJoin} |`,
    `| WebSocket messages / MiB received by the clients during the storm (mostly presence diffs) | ${r.received.messages} / ${Math.round(r.received.bytes / 10_485.76) / 100} |`,
    `| CPU % of one core during the storm: gateways / HAProxy / Postgres / Redis / generator | ${cpu.gateways.join(' + ')} / ${cpu.haproxy} / ${cpu.postgres} / ${cpu.redis} / ${cpu.generator} |`,
    `| CPU ms per joined client: gateways / HAProxy / Postgres / Redis / generator | ${per.gateways} / ${per.haproxy} / ${per.postgres} / ${per.redis} / ${per.generator} |`,
    `| HAProxy session limit (derived from the open-files limit) | ${r.haproxySessionLimit} |`,
    '',
    '## Failures',
    '',
    ...(failures.length
      ? [
          '| kind | count | % of clients |',
          '|---|---:|---:|',
          ...failures.map(([k, n]) => `| ${k} | ${n} | ${Math.round((10_000 * n) / r.clients) / 100} % |`),
        ]
      : ['none']),
    '',
    ...(r.firstError ? [`First: \`${r.firstError}\`. Failed clients (index in the burst): ${r.failedClients.join(', ')}.`, ''] : []),
    ...(r.haproxyLogOfFailed.length
      ? [
          "HAProxy's log of the failed sessions (first 10): `Tq/Tw/Tc/Tr/Ta` ms, status, bytes to the client, then the termination",
          'state (`----`: closed cleanly by one side; `SD`/`CD`: server/client aborted).',
          '',
          '```',
          ...r.haproxyLogOfFailed,
          '```',
          '',
        ]
      : []),
    '## Node split',
    '',
    '| node | joined (its Hello) | open connections (its /metrics, after the hold) | HAProxy sessions to it |',
    '|---|---:|---:|---:|',
    ...Object.entries(r.nodes).map(([id, n]) => `| ${id} | ${n.joined} | ${n.openConnections ?? '—'} | ${n.haproxySessions} |`),
    '',
  ].join('\n');
}
