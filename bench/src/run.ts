import { bytes } from './bytes.js';
import { connectStorm, parseStormArgs } from './connect-storm.js';
import { durable } from './durable.js';
import { fanout, parseFanoutArgs } from './fanout.js';
import { idle } from './idle.js';
import { outDir } from './report.js';
import { resume } from './resume.js';
import { xnode } from './xnode.js';

/**
 * `npm run bench -- <scenario> [args]` — one command per scenario; prints one JSON line.
 *   idle [connections=1000]
 *   durable [senders=200] [window=8] [seconds=10] [channels=200]
 *   resume [missed=10000]   (set REDIS_URL to run the gateway in cluster mode)
 *   xnode [rate=100] [seconds=5]   cross-node latency, 2 gateways on REDIS_URL (default local)
 *   fanout [--quick] [--systems=…] [--steps=…] [--seconds=3] [--rooms=10] [--receivers=100] [--publishers=2]
 *     Parley vs Socket.IO (lean client and socket.io-client) vs bare uWS relay / single node;
 *     writes bench/results/fanout.{md,svg} (quick: a temp dir). See fanout.ts.
 *   bytes [--out=dir]
 *     wire bytes per chat/typing/reaction/presence event: Parley vs Socket.IO vs the seed's JSON;
 *     writes bench/results/bytes.md. See bytes.ts.
 *   connect-storm [clients=2000] [--channels=10] [--timeout=60] [--hold=2] [--out=dir]
 *     N guests connect at once through HAProxy to 2 gateways and join; writes
 *     bench/results/connect-storm-<clients>.md. Needs 2 open files per client + 1000 (checked,
 *     raised with prlimit when possible). See connect-storm.ts.
 */
const [scenario, ...args] = process.argv.slice(2);
const n = (i: number, def: number) => Number(args[i] ?? def);

async function main(): Promise<unknown> {
  switch (scenario) {
    case 'idle':
      return idle(n(0, 1000));
    case 'durable':
      return durable(n(0, 200), n(1, 8), n(2, 10), n(3, 200));
    case 'resume':
      return resume(n(0, 10_000));
    case 'fanout':
      return fanout(parseFanoutArgs(args));
    case 'bytes':
      return bytes(outDir(args));
    case 'connect-storm':
      return connectStorm(parseStormArgs(args));
    case 'xnode':
      return xnode(n(0, 100), n(1, 5));
    default:
      throw new Error(`unknown scenario "${scenario ?? ''}": use idle | durable | resume | xnode | fanout | bytes | connect-storm`);
  }
}

main().then(
  (r) => console.log(JSON.stringify({ scenario, ...(r as object) })),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
