import { encodeRequest, Kind, Op } from '@parley/protocol';
import { postgresBackendPids, procCpuSeconds, selfCpuSeconds, sumCpuSeconds } from './cpu.js';
import { withDatabase } from './database.js';
import { progress } from './report.js';
import { startGateway } from './server.js';
import { signup } from './signup.js';
import { WireClient } from './wire-client.js';

/**
 * Durable send path: acknowledged (= committed in Postgres) sends per second through one gateway,
 * with many concurrent senders each keeping `window` sends in flight.
 */
export async function durable(senders: number, window: number, seconds: number, channels: number) {
  return withDatabase(async (databaseUrl, database) => {
    const say = progress('durable');
    say('starting a gateway');
    // One owner creates every channel: lift the per-user channel cap (default 50) to the count asked for.
    const cap = String(Math.max(50, channels));
    const server = await startGateway({
      DATABASE_URL: databaseUrl,
      PARLEY_RATE_PER_S: '1000000',
      PARLEY_RATE_BURST: '1000000',
      PARLEY_MAX_CHANNELS_PER_USER: cap,
    });
    try {
      const token = await signup(server.url, 'bench-owner');
      const owner = new WireClient(server.url, `token=${token}`);
      await owner.opened;
      for (let i = 0; i < channels; i++) await owner.request((rid) => encodeRequest({ op: Op.Create, rid, name: `bench-${i}` }));
      const clients = await Promise.all(
        Array.from({ length: senders }, async (_, i) => {
          const c = new WireClient(server.url, `guest=sender${i}`);
          await c.opened;
          const join = await c.request((rid) => encodeRequest({ op: Op.Join, rid, name: `bench-${i % channels}` }));
          return { c, cid: (join as { cid: number }).cid };
        }),
      );
      const latencies: number[] = [];
      let acked = 0;
      let errors = 0;
      let running = true;
      const body = 'x'.repeat(60);
      const loops = clients.map(({ c, cid }) => {
        let rid = 1000;
        const sentAt = new Map<number, number>();
        return new Promise<void>((done) => {
          const sendOne = () => {
            rid += 1;
            sentAt.set(rid, performance.now());
            c.send(encodeRequest({ op: Op.Message, rid, cid, text: body, cmid: `${cid}-${rid}-${Math.random()}` }));
          };
          c.onFrame = (f) => {
            if (f.kind !== Kind.Reply && f.kind !== Kind.Error) return;
            const t = sentAt.get(f.rid);
            if (t === undefined) return;
            sentAt.delete(f.rid);
            if (f.kind === Kind.Reply) {
              acked += 1;
              latencies.push(performance.now() - t);
            } else errors += 1;
            if (running) sendOne();
            else if (sentAt.size === 0) done();
          };
          for (let i = 0; i < window; i++) sendOne();
        });
      });
      const cpu = () => ({
        gateway: procCpuSeconds(server.proc.pid ?? 0),
        postgres: sumCpuSeconds(postgresBackendPids(database)),
        generator: selfCpuSeconds(),
      });
      say(`${senders} senders joined; sending for ${seconds}s`);
      const started = performance.now();
      const cpu0 = cpu();
      for (let s = 1; s <= seconds; s++) {
        await new Promise((r) => setTimeout(r, 1000 - ((performance.now() - started) % 1000)));
        say(`${s}s: ${acked} acked`);
      }
      const cpu1 = cpu();
      running = false;
      const elapsed = (performance.now() - started) / 1000;
      const cpuPct = (k: keyof typeof cpu0) => Math.round((100 * (cpu1[k] - cpu0[k])) / elapsed);
      const ackedInWindow = acked;
      await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 5000))]);
      for (const { c } of clients) c.close();
      owner.close();
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      const metric = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)`, 'm').exec(metrics)?.[1] ?? 0);
      const batches = metric('parley_commit_batch_size_count');
      const avgBatch = batches ? Math.round(metric('parley_commit_batch_size_sum') / batches) : 0;
      latencies.sort((a, b) => a - b);
      const pct = (p: number) => Math.round((latencies[Math.floor((latencies.length - 1) * p)] ?? 0) * 10) / 10;
      return {
        senders,
        window,
        ackedPerS: Math.round(ackedInWindow / elapsed),
        ackP50Ms: pct(0.5),
        ackP99Ms: pct(0.99),
        errors,
        commits: batches,
        avgBatch,
        /** % of one core over the window (the machine's cores are shared by all three). */
        cpuPct: { gateway: cpuPct('gateway'), postgres: cpuPct('postgres'), generator: cpuPct('generator') },
      };
    } finally {
      await server.stop();
    }
  });
}
