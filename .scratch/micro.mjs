import postgres from 'postgres';
import { readFileSync, readdirSync } from 'node:fs';
const admin = postgres('postgres://postgres@127.0.0.1:5432/postgres', { max: 1 });
const db = `parley_micro_${process.pid}`;
await admin.unsafe(`CREATE DATABASE ${db}`);
const sql = postgres(`postgres://postgres@127.0.0.1:5432/${db}`, { max: 1 });
try {
  const dir = '/work/main/infra/migrations/';
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) await sql.unsafe(readFileSync(dir + f, 'utf8'));
  await sql.unsafe(readFileSync('/tmp/b/append1.sql', 'utf8'));
  const [u] = await sql`INSERT INTO users (name, guest) VALUES ('u', true) RETURNING id`;
  const [c] = await sql`INSERT INTO channels (name, owner_id) VALUES ('c', ${u.id}) RETURNING id`;
  const [{ pid }] = await sql`SELECT pg_backend_pid() AS pid`;
  const cpu = () => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
  const N = Number(process.argv[2] ?? 3000);
  const variants = {
    append: (i, cmid) => sql`SELECT idx, seq, ts, duplicate FROM parley_append(${[c.id]}::bigint[], ${[u.id]}::bigint[], ${['u']}::text[], ${['hello ' + i]}::text[], ${[cmid]}::text[], ${Date.now()}::bigint)`,
    append1: (i, cmid) => sql`SELECT seq, ts, duplicate FROM parley_append1(${c.id}::bigint, ${u.id}::bigint, ${'u'}::text, ${'hello ' + i}::text, ${cmid}::text, ${Date.now()}::bigint)`,
  };
  for (let round = 0; round < 2; round++) for (const [name, fn] of Object.entries(variants)) for (const withCmid of [false, true]) {
    for (let i = 0; i < 200; i++) await fn(i, withCmid ? `w${name}${round}${i}` : null); // warm
    const c0 = cpu(); const t0 = performance.now();
    for (let i = 0; i < N; i++) await fn(i, withCmid ? `${name}${round}${i}` : null);
    const us = ((cpu() - c0) * 1e6) / N;
    console.log(`${name} cmid=${withCmid}: backend ${us.toFixed(0)} µs CPU/call, wall ${((performance.now() - t0) * 1000 / N).toFixed(0)} µs/call`);
  }
  // correctness spot check: a retried cmid returns the original seq
  const a = await variants.append1(1, 'same'); const b = await variants.append1(2, 'same');
  console.log('dup check', a[0], b[0]);
} finally {
  await sql.end();
  await admin.unsafe(`DROP DATABASE ${db}`);
  await admin.end();
}
