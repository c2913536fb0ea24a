import { APPEND, APPEND_FRESH, APPEND_ONE, APPEND_ONE_FRESH, migrate, openPostgres } from '@parley/gateway/sql';
import postgres from 'postgres';
import { preciseCpuSeconds } from './cpu.js';
import { withDatabase } from './database.js';
import { flag } from './report.js';

/**
 * `pgcost [--rate=100] [--calls=600] [--rounds=3]`: what one commit costs, at a steady `rate` of
 * calls per second on one connection (a node's commit lane), for the statements a durable message
 * can take — Postgres backend CPU per call (its process's threads, /proc/<pid>/task/…/sched) and
 * this process's CPU per call (postgres.js plus the pacing timer's wakeup: an upper bound on
 * what the driver costs a gateway). Variants:
 *   select1         `SELECT 1`: the round trip alone (wakeups, protocol), no commit
 *   insert          a plain one-row INSERT into a table with one index (Socket.IO + INSERT's table)
 *   parley_one      Parley's statement for a message alone in its commit (APPEND_ONE)
 *   parley_append1  parley_append with 1 item (how a lone message went before APPEND_ONE)
 *   parley_append3  parley_append with 3 items (a small group commit: migration 009's per-item loop)
 *   parley_one_fresh, parley_fresh3  the same without the lookup for earlier copies of the cmids
 *                   (APPEND_ONE_FRESH, parley_append_fresh: what the gateway sends until a cmid repeats)
 *   parley_appendN, parley_freshN  with `--big=N`: N items over 200 channels (a busy node's commit),
 *                   also reported per item
 *   unfenced_one_fresh, unfenced_fresh3 (and unfenced_freshN)  the same statements without the send
 *                   fence (migration 011's restriction generation): what the fence costs
 *   parley_one_fresh_nosync  parley_one_fresh under `synchronous_commit = off`: what the WAL flush
 *                   adds to a commit's time and CPU (Parley never runs this way: acked = committed)
 *   parley_one_fresh_copy, …_no_user_idx, …_no_user_cmid_idx  parley_one_fresh on copies of the
 *                   two tables (no foreign keys): with every index, without `messages (user_id)`
 *                   (the guest purge's), and without the cmid index too (exactly-once's): what each
 *                   index adds to a lone commit
 * Besides CPU, each call's wall time (p50 / p90): what a commit adds to a message's latency.
 * Rounds alternate the variants (the machine's speed drifts); the figures are medians. Needs the
 * Postgres server on this machine for backend CPU (BENCH_PG as elsewhere).
 */
export interface PgCostOptions {
  rate: number;
  calls: number;
  rounds: number;
  /** Items in the big-batch variants; 0 = leave them out. */
  big: number;
}

export function parsePgCostArgs(args: readonly string[]): PgCostOptions {
  return {
    rate: Number(flag(args, 'rate') ?? 100),
    calls: Number(flag(args, 'calls') ?? 600),
    rounds: Number(flag(args, 'rounds') ?? 3),
    big: Number(flag(args, 'big') ?? 0),
  };
}

const TEXT = 'a sixty-character chat message body, as the other benches use';

/** APPEND_ONE_FRESH and APPEND_FRESH as they were before the send fence (migration 011). */
const UNFENCED_ONE_FRESH = `WITH bumped AS (
    UPDATE channels SET last_seq = last_seq + 1 WHERE id = $1::bigint RETURNING last_seq
  )
  INSERT INTO messages (cid, seq, user_id, author, text, ts, cmid)
  SELECT $1::bigint, b.last_seq, $2::bigint, $3::text, $4::text, $6::bigint, $5::text FROM bumped b
  RETURNING seq, ts, false AS duplicate`;
const UNFENCED_FRESH =
  'SELECT idx, seq, ts, duplicate FROM parley_append_fresh($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint)';
const CHANNELS = 400;
/**
 * Schemas of copies of channels and messages (LIKE … INCLUDING ALL: indexes, no foreign keys) and
 * the indexes of `messages` each leaves out, by column list; `copy` keeps them all (the baseline).
 */
const LEAN_SCHEMAS: Record<string, string[]> = {
  copy: [],
  no_user_idx: ['user_id'],
  no_user_cmid_idx: ['user_id', 'cid, user_id, cmid'],
};

export async function pgcost(o: PgCostOptions): Promise<Record<string, unknown>> {
  return withDatabase(async (url) => {
    const setup = openPostgres(url, { max: 1 });
    await migrate(setup);
    await setup.query(`INSERT INTO channels (name) SELECT 'c' || g FROM generate_series(1, ${CHANNELS}) g`);
    await setup.query('CREATE TABLE bench_plain (id bigserial PRIMARY KEY, room text, body text, created_at timestamptz DEFAULT now())');
    // Copies of channels and messages with fewer indexes on messages, for what each index costs a
    // commit (the statements are unqualified, so a variant runs them under another search_path).
    for (const [schema, drop] of Object.entries(LEAN_SCHEMAS)) {
      await setup.query(`CREATE SCHEMA ${schema}`);
      await setup.query(`CREATE TABLE ${schema}.channels (LIKE public.channels INCLUDING ALL)`);
      await setup.query(`INSERT INTO ${schema}.channels SELECT * FROM public.channels`);
      await setup.query(`CREATE TABLE ${schema}.messages (LIKE public.messages INCLUDING ALL)`);
      for (const column of drop) {
        const [row] = (await setup.query(
          `SELECT indexname FROM pg_indexes WHERE schemaname = '${schema}' AND tablename = 'messages' AND indexdef LIKE '%(${column})%'`,
        )) as { indexname: string }[];
        if (!row) throw new Error(`pgcost: no index on ${schema}.messages (${column})`);
        await setup.query(`DROP INDEX ${schema}.${row.indexname}`);
      }
    }
    await setup.close();

    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const [{ pid }] = (await sql`SELECT pg_backend_pid() AS pid`) as unknown as [{ pid: number }];
    let k = 0;
    const item = () => {
      k += 1;
      return { cid: 1 + (k % CHANNELS), uid: 1 + (k % 10), cmid: `m${k}` };
    };
    const append = (n: number, statement = APPEND, spread = CHANNELS) => {
      const items = Array.from({ length: n }, item)
        .map((i) => ({ ...i, cid: 1 + (i.cid % spread) }))
        .sort((a, b) => a.cid - b.cid);
      return sql.unsafe(
        statement,
        [
          items.map((i) => i.cid),
          items.map((i) => i.uid),
          items.map(() => 'u'),
          items.map(() => TEXT),
          items.map((i) => i.cmid),
          Date.now(),
          // The send fence: checked at generation 0, which no moderation here moves.
          ...(statement === UNFENCED_FRESH ? [] : [items.map(() => 0)]),
        ],
        { prepare: true },
      );
    };
    const one = (statement: string) => {
      const i = item();
      const fence = statement === UNFENCED_ONE_FRESH ? [] : [0];
      return sql.unsafe(statement, [i.cid, i.uid, 'u', TEXT, i.cmid, Date.now(), ...fence], { prepare: true });
    };
    // Session settings around a variant's calls (the connection is shared).
    const settings: Record<string, { before: string; after: string }> = {
      parley_one_fresh_nosync: { before: 'SET synchronous_commit = off', after: 'RESET synchronous_commit' },
    };
    const variants: Record<string, () => Promise<unknown>> = {
      select1: () => sql.unsafe('SELECT 1', [], { prepare: true }),
      insert: () => sql.unsafe('INSERT INTO bench_plain (room, body) VALUES ($1, $2)', ['room', TEXT], { prepare: true }),
      parley_one: () => one(APPEND_ONE),
      parley_one_fresh: () => one(APPEND_ONE_FRESH),
      parley_append1: () => append(1),
      parley_append3: () => append(3),
      parley_fresh3: () => append(3, APPEND_FRESH),
      unfenced_one_fresh: () => one(UNFENCED_ONE_FRESH),
      unfenced_fresh3: () => append(3, UNFENCED_FRESH),
      parley_one_fresh_nosync: () => one(APPEND_ONE_FRESH),
    };
    for (const schema of Object.keys(LEAN_SCHEMAS)) {
      settings[`parley_one_fresh_${schema}`] = { before: `SET search_path = ${schema}, public`, after: 'RESET search_path' };
      variants[`parley_one_fresh_${schema}`] = () => one(APPEND_ONE_FRESH);
    }
    if (o.big > 0) {
      variants[`parley_append${o.big}`] = () => append(o.big, APPEND, 200);
      variants[`parley_fresh${o.big}`] = () => append(o.big, APPEND_FRESH, 200);
      variants[`unfenced_fresh${o.big}`] = () => append(o.big, UNFENCED_FRESH, 200);
    }

    const samples: Record<string, { backend: number[]; client: number[]; p50: number[]; p90: number[] }> = {};
    for (let round = 0; round < o.rounds; round++) {
      for (const [name, call] of Object.entries(variants)) {
        if (settings[name]) await sql.unsafe(settings[name].before);
        for (let i = 0; i < 100; i++) await call(); // warm: prepared, JIT-compiled
        const walls: number[] = [];
        const b0 = preciseCpuSeconds(pid);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < o.calls; i++) {
          const start = performance.now();
          await call();
          walls.push(performance.now() - start);
          const wait = t0 + ((i + 1) * 1000) / o.rate - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        const c = process.cpuUsage(c0);
        if (settings[name]) await sql.unsafe(settings[name].after);
        const s = (samples[name] ??= { backend: [], client: [], p50: [], p90: [] });
        s.backend.push(((preciseCpuSeconds(pid) - b0) / o.calls) * 1e6);
        s.client.push((c.user + c.system) / o.calls);
        walls.sort((a, b) => a - b);
        s.p50.push(walls[Math.floor(walls.length * 0.5)] as number);
        s.p90.push(walls[Math.floor(walls.length * 0.9)] as number);
      }
    }
    await sql.end();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const perCall = Object.fromEntries(
      Object.entries(samples).map(([name, s]) => [
        name,
        {
          backendUs: Math.round(median(s.backend)),
          clientUs: Math.round(median(s.client)),
          p50Ms: Number(median(s.p50).toFixed(3)),
          p90Ms: Number(median(s.p90).toFixed(3)),
        },
      ]),
    );
    for (const [name, v] of Object.entries(perCall)) {
      const items = Number(/\d+$/.exec(name)?.[0] ?? 1);
      const per = items > 1 ? ` (${(v.backendUs / items).toFixed(1)} / ${(v.clientUs / items).toFixed(1)} per item)` : '';
      console.error(
        `[pgcost] ${name.padEnd(23)} backend ${v.backendUs} µs, client ${v.clientUs} µs per call${per}; wall p50 ${v.p50Ms} p90 ${v.p90Ms} ms`,
      );
    }
    return { rate: o.rate, calls: o.calls, rounds: o.rounds, big: o.big, perCall };
  });
}
