import postgres from 'postgres';

/**
 * A throwaway database for one bench run on the Postgres at BENCH_PG (default: the local
 * server, user postgres), so the gateway's RSS is the gateway's alone (embedded PGlite would add
 * its ~700 MiB WASM heap) and writes go where production writes go.
 */
export async function withDatabase<T>(fn: (url: string, name: string) => Promise<T>): Promise<T> {
  const admin = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `parley_bench_${process.pid}_${Date.now().toString(36)}`;
  const sql = postgres(admin, { max: 1, onnotice: () => {} });
  await sql.unsafe(`create database ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString(), name);
  } finally {
    await sql.unsafe(`drop database if exists ${name} with (force)`);
    await sql.end();
  }
}
