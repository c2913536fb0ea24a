import { encodeRequest, Kind, Op } from '@parley/protocol';
import postgres from 'postgres';
import { postgresBackendPids, preciseCpuSeconds, selfCpuSeconds, sumPreciseCpuSeconds } from './cpu.js';
import { withDatabase } from './database.js';
import { progress } from './report.js';
import { startGateway } from './server.js';
import { signup } from './signup.js';
import { WireClient } from './wire-client.js';

/**
 * Durable send path: acknowledged (= committed in Postgres) sends per second through one gateway,
 * with many concurrent senders each keeping `window` sends in flight.
 *
 * Then, in the same run and database with the gateway stopped, the baseline: postgres.js inserting
 * the same rows alone, batched — `baselineConcurrency` loops, each one multi-row INSERT … SELECT FROM
 * unnest(…) of `batch` rows at a time, each its own transaction (defaults: 4, the gateway's
 * default commit lanes, × min(500, senders × window / 4), so the baseline
 * never has more rows in flight than Parley has sends in flight), into a copy of Parley's `messages` table
 * (`LIKE messages INCLUDING ALL`: same columns, primary key and indexes), for as long. Rows carry
 * what the gateway's rows carry: channel id, per-channel seq, user id, author, the 60-character
 * text, ts and a cmid. The ratio Parley acked/s ÷ baseline rows/s is the target (≥ 50 %).
 * `reps` pairs (Parley, then the baseline), each on a fresh database; the median pair is reported.
 */
export async function durable(
  senders: number,
  window: number,
  seconds: number,
  channels: number,
  baseline: { batch: number; concurrency: number } = { batch: 500, concurrency: 4 },
  reps = 3,
) {
  // Interleaved: each repetition measures Parley and then, seconds later, the baseline, each pair
  // on a fresh database; this box's speed drifts by more than the effects measured, so the ratio
  // of one pair is what compares. The reported figures are the pair with the median ratio's.
  const runs: Awaited<ReturnType<typeof durableOnce>>[] = [];
  for (let rep = 0; rep < Math.max(1, reps); rep++) {
    if (reps > 1) progress('durable')(`repetition ${rep + 1}/${reps}`);
    runs.push(await durableOnce(senders, window, seconds, channels, baseline));
  }
  if (runs.length === 1) return runs[0];
  const ratio = (r: (typeof runs)[number]) => r.ackedVsBaseline ?? r.ackedPerS;
  const byRatio = [...runs].sort((a, b) => ratio(a) - ratio(b));
  const median = byRatio[Math.floor((byRatio.length - 1) / 2)] as (typeof runs)[number];
  return {
    ...median,
    repetitions: {
      ackedPerS: runs.map((r) => r.ackedPerS),
      baselineRowsPerS: runs.map((r) => r.baseline?.rowsPerS ?? null),
      ackedVsBaseline: runs.map((r) => r.ackedVsBaseline ?? null),
    },
  };
}

function durableOnce(senders: number, window: number, seconds: number, channels: number, baseline: { batch: number; concurrency: number }) {
  return withDatabase(async (databaseUrl, database) => {
    const parley = await measureParley(databaseUrl, database, senders, window, seconds, channels);
    const base = baseline.concurrency > 0 ? await insertBaseline(databaseUrl, database, seconds, channels, baseline) : null;
    return {
      ...parley,
      ...(base
        ? {
            baseline: base,
            /** Parley's acked sends/s ÷ postgres.js's batched rows/s (target ≥ 0.5). */
            ackedVsBaseline: Math.round((parley.ackedPerS / base.rowsPerS) * 100) / 100,
          }
        : {}),
    };
  });
}

async function insertBaseline(
  databaseUrl: string,
  database: string,
  seconds: number,
  channels: number,
  o: { batch: number; concurrency: number },
) {
  const say = progress('durable');
  const sql = postgres(databaseUrl, { max: o.concurrency, onnotice: () => {} });
  try {
    await sql`create table bench_plain_messages (like messages including all)`;
    // Open every pool connection before the window, so the backends are all counted.
    await Promise.all(Array.from({ length: o.concurrency }, () => sql.reserve().then((r) => r.release())));
    const pids = postgresBackendPids(database);
    const seqs = new Array<number>(channels).fill(0);
    const body = 'x'.repeat(60);
    let rows = 0;
    let next = 0;
    let running = true;
    const batchRows = () => {
      const cid: number[] = [];
      const seq: number[] = [];
      const uid: number[] = [];
      const author: string[] = [];
      const text: string[] = [];
      const cmid: string[] = [];
      for (let i = 0; i < o.batch; i++) {
        const c = next++ % channels;
        seqs[c] = (seqs[c] ?? 0) + 1;
        cid.push(c + 1);
        seq.push(seqs[c] ?? 0);
        uid.push((next % 200) + 1);
        author.push(`sender${next % 200}`);
        text.push(body);
        cmid.push(`${c}-${next}-${Math.random()}`);
      }
      return [cid, seq, uid, author, text, Date.now(), cmid];
    };
    const loop = async () => {
      while (running) {
        const [cid, seq, uid, author, text, ts, cmid] = batchRows();
        await sql`insert into bench_plain_messages (cid, seq, user_id, author, text, ts, cmid)
          select c, s, u, a, t, ${ts as number}, m from unnest(${cid as number[]}::bigint[], ${seq as number[]}::bigint[], ${uid as number[]}::bigint[],
            ${author as string[]}::text[], ${text as string[]}::text[], ${cmid as string[]}::text[]) as x(c, s, u, a, t, m)`;
        if (running) rows += o.batch;
      }
    };
    say(`baseline: postgres.js, ${o.concurrency} × INSERT of ${o.batch} rows, ${seconds}s`);
    const started = performance.now();
    const pg0 = sumPreciseCpuSeconds(pids);
    const gen0 = selfCpuSeconds();
    const loops = Array.from({ length: o.concurrency }, loop);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    running = false;
    const elapsed = (performance.now() - started) / 1000;
    const pg = sumPreciseCpuSeconds(pids) - pg0;
    const gen = selfCpuSeconds() - gen0;
    const counted = rows;
    await Promise.all(loops);
    return {
      batch: o.batch,
      concurrency: o.concurrency,
      rowsPerS: Math.round(counted / elapsed),
      /** Postgres backends' CPU per row, µs. */
      postgresUsPerRow: counted ? Math.round((pg * 1e6) / counted) : null,
      cpuPct: { postgres: Math.round((100 * pg) / elapsed), generator: Math.round((100 * gen) / elapsed) },
    };
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function measureParley(databaseUrl: string, database: string, senders: number, window: number, seconds: number, channels: number) {
  {
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
          const c = new WireClient(server.url, `guest=sender${i}`, true); // corked: see WireClient
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
        gateway: preciseCpuSeconds(server.proc.pid ?? 0),
        postgres: sumPreciseCpuSeconds(postgresBackendPids(database)),
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
        /** CPU-µs per acked message: the gateway's and its Postgres backends'. */
        usPerAcked: {
          gateway: ackedInWindow ? Math.round(((cpu1.gateway - cpu0.gateway) * 1e6) / ackedInWindow) : null,
          postgres: ackedInWindow ? Math.round(((cpu1.postgres - cpu0.postgres) * 1e6) / ackedInWindow) : null,
        },
      };
    } finally {
      await server.stop();
    }
  }
}
