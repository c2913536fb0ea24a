import { abuse, parseAbuseArgs } from './abuse.js';
import { bytes } from './bytes.js';
import { connectStorm, parseStormArgs } from './connect-storm.js';
import { durable } from './durable.js';
import { fanout, parseFanoutArgs } from './fanout.js';
import { idle } from './idle.js';
import { interleaved, parsePerMessageArgs, parseSmallRoomsArgs } from './interleaved.js';
import { parsePgCostArgs, pgcost } from './pgcost.js';
import { flag, outDir, recordMarkdown, writeReport } from './report.js';
import { resume } from './resume.js';
import { measuredUws, refuseUwsFallback } from './uws-build.js';
import { xnode } from './xnode.js';

/**
 * `npm run bench -- <scenario> [args]` — one command per scenario; prints one JSON line.
 *   idle [connections=1000] [--joins=2] [--members=100]   (each connection joins 2 channels of 100 members)
 *   durable [senders=200] [window=8] [seconds=10] [channels=200] [--baseline-batch=min(500, senders × window / 4)] [--baseline-concurrency=4] [--reps=3]
 *     (then postgres.js inserting the same rows batched, same run; --baseline-concurrency=0 skips it)
 *   resume [missed=10000]   (set REDIS_URL to run the gateway in cluster mode)
 *   xnode [rate=100] [seconds=5]   cross-node latency, 2 gateways on REDIS_URL (default local)
 *   abuse [1] [2] [--bombs=3] [--readers=150] [--rate=4] [--seconds=20] [--spread] [--text=4000]   issue 10's stalls, both
 *     items unless named: 1 decoder bomb, 2 history burst beside a canary pair (see abuse.ts)
 *     these five write bench/results/<scenario>.md (`--out=dir` to write elsewhere): RECORDS below
 *   fanout [--quick] [--systems=…] [--steps=…] [--seconds=3] [--rooms=10] [--receivers=100] [--publishers=2]
 *     Parley vs Socket.IO (lean client and socket.io-client) vs bare uWS relay / single node;
 *     writes bench/results/fanout.{md,svg} (quick: a temp dir). See fanout.ts.
 *   fanout --per-message [--quick] [--receivers=100,20,4] [--rate=200] [--reps=3] [--warmup=4] [--seconds=4] [--sweep=…]
 *   small-rooms [--quick] [--rooms=400] [--members=4] [--steps=500,…,16000] [--fixed=500,1000] [--reps=3] …
 *     interleaved (fresh processes per trial, systems alternating, medians): CPU per message of
 *     Parley, Socket.IO, Socket.IO + Postgres INSERT, bare uWS relay; writes
 *     bench/results/{fanout-per-message,small-rooms}.md. See interleaved.ts.
 *   bytes [--out=dir]
 *     wire bytes per chat/typing/reaction/presence event: Parley vs Socket.IO vs the seed's JSON;
 *     writes bench/results/bytes.md. See bytes.ts.
 *   pgcost [--rate=100] [--calls=600] [--rounds=3] [--big=N]
 *     Postgres backend CPU and postgres.js client CPU per call for the statements a durable message
 *     can take (SELECT 1, a plain INSERT, Parley's append statements), at a steady rate. See pgcost.ts.
 *   connect-storm [clients=2000] [--channels=10] [--timeout=60] [--hold=2] [--out=dir]
 *     N guests connect at once through HAProxy to 2 gateways and join; writes
 *     bench/results/connect-storm-<clients>.md. Needs 2 open files per client + 1000 (checked,
 *     raised with prlimit when possible). See connect-storm.ts.
 */
const [scenario, ...args] = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--'));
const n = (i: number, def: number) => Number(positional[i] ?? def);

/** What the one-record scenarios measure, for their results file. */
const RECORDS: Record<string, { title: string; description: string; labels: Record<string, string> }> = {
  idle: {
    title: 'idle: gateway memory per idle connection',
    description:
      'One gateway (throwaway Postgres DB); N guest WebSockets connect and stay idle. Both samples ' +
      'are taken after a full GC in the gateway (bench/src/gc-hook.mjs); the growth is divided by N.',
    labels: {
      connections: 'connections',
      rssPerConnKiB: 'RSS per connection (KiB)',
      heapPerConnKiB: 'of which JS heap (KiB)',
      nativePerConnKiB: 'of which outside the JS heap (KiB)',
      baselineMiB: 'gateway RSS before connecting (MiB)',
      startMiB: 'gateway RSS when it starts listening, no forced GC (MiB)',
      joinsPerConnection: 'channels joined per connection',
      membersPerChannel: 'members per channel',
    },
  },
  durable: {
    title: 'durable: acknowledged (committed) sends per second',
    description:
      'One gateway on Postgres (throwaway DB). Each sender (a guest in its own channel unless ' +
      'channels < senders) keeps `window` sends in flight; a send counts when its ack (sent after ' +
      'the commit) arrives. CPU is % of one core over the measured window. Then, same run and ' +
      'database, gateway stopped: postgres.js alone inserting the same rows batched (concurrency × ' +
      "multi-row INSERT … unnest of `batch` rows, one transaction each) into a copy of Parley's messages " +
      'table (LIKE messages INCLUDING ALL), for as long; the ratio is the target (≥ 0.5). `reps` such ' +
      'pairs (default 3), each on a fresh database; the table is the pair with the median ratio, and ' +
      'the last rows list every pair.',
    labels: {
      senders: 'senders',
      window: 'sends in flight per sender',
      ackedPerS: 'acked sends/s',
      ackP50Ms: 'ack latency p50 (ms)',
      ackP99Ms: 'ack latency p99 (ms)',
      errors: 'error replies',
      commits: 'group commits',
      avgBatch: 'messages per commit (mean)',
      'cpuPct.gateway': 'gateway CPU %',
      'cpuPct.postgres': 'Postgres backends CPU %',
      'cpuPct.generator': 'generator CPU %',
      'usPerAcked.gateway': 'gateway CPU-µs per acked send',
      'usPerAcked.postgres': 'Postgres CPU-µs per acked send',
      'baseline.batch': 'baseline: rows per INSERT',
      'baseline.concurrency': 'baseline: INSERTs in flight',
      'baseline.rowsPerS': 'baseline: postgres.js rows/s (batched)',
      'baseline.postgresUsPerRow': 'baseline: Postgres CPU-µs per row',
      'baseline.cpuPct.postgres': 'baseline: Postgres backends CPU %',
      'baseline.cpuPct.generator': 'baseline: generator CPU %',
      ackedVsBaseline: 'Parley acked/s ÷ baseline rows/s (target ≥ 0.5)',
      'repetitions.ackedPerS': 'every pair: Parley acked sends/s',
      'repetitions.baselineRowsPerS': 'every pair: baseline rows/s',
      'repetitions.ackedVsBaseline': 'every pair: ratio',
    },
  },
  resume: {
    title: 'resume: catching up on missed messages',
    description:
      'A client misses N messages while its connection is held shut, then catches up through the ' +
      "SDK's own reconnect path (rejoin + history after its last seq). Time from reconnect allowed " +
      'to the last message seen; correct = every message once, in order.',
    labels: {
      missed: 'messages missed',
      catchUpMs: 'catch-up time (ms)',
      correct: 'no gap, no duplicate',
      cluster: 'cluster mode (Redis)',
    },
  },
  xnode: {
    title: 'xnode: cross-node delivery latency',
    description:
      'Two gateways in cluster mode on Redis; a sender on node A, a receiver on node B; each ' +
      'message carries its send time. Send → receive, including the commit before the broadcast.',
    labels: {
      rate: 'messages/s',
      seconds: 'seconds',
      delivered: 'delivered',
      sent: 'sent',
      p50Ms: 'p50 (ms)',
      p99Ms: 'p99 (ms)',
      maxMs: 'max (ms)',
    },
  },
  abuse: {
    title: "abuse: issue 10's stalls (decoder bomb, history burst)",
    description:
      'Each item on a fresh gateway process (throwaway Postgres DB, default limits). Bomb: a guest sends ' +
      '16 KiB frames of nested msgpack array16 headers, one after the other; reply time to its error 100 ' +
      '(target < 100 ms) and RSS growth (target < 32 MiB). History burst: guests each ask for a ' +
      '100-message History page (of messages of the given length) several times a second while a canary pair chats (a send every 100 ms, ' +
      'timed send → arrival; target p99 < 250 ms, all delivered, RSS peak < baseline + 300 MiB). ' +
      "Stall: the gateway's longest event-loop delay over the item (parley_event_loop_delay_max_seconds).",
    labels: {
      'bomb.bombs': 'bomb: frames sent',
      'bomb.bytes': 'bomb: bytes per frame',
      'bomb.replyMs': 'bomb: send → error 100 (ms, each)',
      'bomb.maxStallMs': 'bomb: longest event-loop stall (ms)',
      'bomb.rssBeforeMiB': 'bomb: gateway RSS before (MiB)',
      'bomb.rssGrowthMiB': 'bomb: gateway RSS growth, 1 s after (MiB)',
      'bomb.pass': 'bomb: targets met',
      'historyBurst.readers': 'burst: readers',
      'historyBurst.ratePerReader': 'burst: History requests/s per reader',
      'historyBurst.inStep': 'burst: readers ask in the same tick (else spread over each period)',
      'historyBurst.textChars': 'burst: characters per archived message (100 per page)',
      'historyBurst.seconds': 'burst: seconds',
      'historyBurst.asked': 'burst: History requests sent',
      'historyBurst.served': 'burst: pages served',
      'historyBurst.busy': 'burst: refused 401 Busy',
      'historyBurst.canary.sent': 'burst: canary messages sent',
      'historyBurst.canary.received': 'burst: canary messages received',
      'historyBurst.canary.errors': 'burst: canary send errors',
      'historyBurst.canary.p50Ms': 'burst: canary send → receive p50 (ms)',
      'historyBurst.canary.p99Ms': 'burst: canary send → receive p99 (ms)',
      'historyBurst.canary.maxMs': 'burst: canary send → receive max (ms)',
      'historyBurst.maxStallMs': 'burst: longest event-loop stall (ms)',
      'historyBurst.rssBeforeMiB': 'burst: gateway RSS before (MiB)',
      'historyBurst.rssPeakMiB': 'burst: gateway RSS peak (MiB)',
      'historyBurst.rssAfterMiB': 'burst: gateway RSS 2 s after (MiB)',
      'historyBurst.pass': 'burst: targets met',
    },
  },
};

async function main(): Promise<unknown> {
  refuseUwsFallback();
  switch (scenario) {
    case 'idle':
      return idle(n(0, 1000), Number(flag(args, 'joins') ?? 0), Number(flag(args, 'members') ?? 100));
    case 'durable': {
      // The baseline never has more rows in flight than Parley has sends in flight (senders × window).
      const concurrency = Number(flag(args, 'baseline-concurrency') ?? 4);
      const inFlight = n(0, 200) * n(1, 8);
      const batch = Number(flag(args, 'baseline-batch') ?? Math.min(500, Math.ceil(inFlight / Math.max(1, concurrency))));
      return durable(n(0, 200), n(1, 8), n(2, 10), n(3, 200), { batch, concurrency }, Number(flag(args, 'reps') ?? 3));
    }
    case 'resume':
      return resume(n(0, 10_000));
    case 'fanout':
      return args.includes('--per-message') ? interleaved(parsePerMessageArgs(args)) : fanout(parseFanoutArgs(args));
    case 'small-rooms':
      return interleaved(parseSmallRoomsArgs(args));
    case 'bytes':
      return bytes(outDir(args));
    case 'connect-storm':
      return connectStorm(parseStormArgs(args));
    case 'xnode':
      return xnode(n(0, 100), n(1, 5));
    case 'abuse':
      return abuse(parseAbuseArgs(args));
    case 'pgcost':
      return pgcost(parsePgCostArgs(args));
    default:
      throw new Error(
        `unknown scenario "${scenario ?? ''}": use idle | durable | resume | xnode | abuse | pgcost | fanout | small-rooms | bytes | connect-storm`,
      );
  }
}

// Ctrl-C or a kill ends the run through process.exit, so the 'exit' cleanups run: gateways started
// by server.ts are killed and its build directories removed (a signal alone would skip them).
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main().then(
  (r) => {
    const record = RECORDS[scenario ?? ''];
    if (record) {
      const command = ['npm run bench --', scenario, ...args].join(' ');
      const md = recordMarkdown(record.title, command, record.description, r as Record<string, unknown>, record.labels);
      const path = writeReport(outDir(args), `${scenario}.md`, md);
      process.stderr.write(`[${scenario}] wrote ${path}\n`);
    }
    console.log(JSON.stringify({ scenario, ...(r as object), uws: measuredUws() }));
  },
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
