import type { PGlite, Transaction } from '@electric-sql/pglite';
import postgres from 'postgres';
import { lockDataDir } from './data-dir-lock.js';

/**
 * What every SQL store needs from a database: parameterised queries and transactions.
 * Stores are written once against this, so Postgres and PGlite run the same SQL.
 *
 * - Rows come back as plain objects; int8 columns (bigserial ids, seqs, counts, ms timestamps)
 *   are parsed to JS numbers (safe below 2^53, which ids and epoch-ms stay far from).
 * - Array parameters are passed as JS arrays with an explicit cast in the SQL (`$1::bigint[]`);
 *   both backends serialise them, including null elements.
 */
export interface SqlQueryable {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a multi-statement script without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export interface SqlDb extends SqlQueryable {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `fn` in one transaction (READ COMMITTED): commits when it resolves, rolls back when it
   * throws. Use only the `q` it is given inside `fn`; on PGlite, calling the outer db from
   * inside `fn` would wait for the transaction itself and deadlock.
   */
  tx<T>(fn: (q: SqlQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const INT8_OID = 20;

export interface PostgresOptions {
  /** Pool size; default 10. */
  max?: number;
}

/** A pooled connection to a PostgreSQL server (>= 15) through the `postgres` driver. */
export function openPostgres(url: string, opts: PostgresOptions = {}): SqlDb {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    onnotice: () => {},
    // Named prepared statements per connection: the stores run a handful of fixed texts.
    prepare: true,
    types: {
      bigint: {
        to: INT8_OID,
        from: [INT8_OID],
        serialize: (x: unknown) => String(x),
        parse: (x: string) => Number(x),
      },
    },
  });
  type Conn = postgres.Sql | postgres.TransactionSql;
  const wrap = (c: Conn): SqlQueryable => ({
    async query<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
      const rows = await c.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true });
      return rows as unknown as T[];
    },
    async exec(script: string): Promise<void> {
      // No parameters and no prepare: the simple protocol, which accepts several statements.
      await c.unsafe(script).simple();
    },
  });
  const base = wrap(sql);
  return {
    kind: 'postgres',
    query: base.query,
    exec: base.exec,
    async tx<T>(fn: (q: SqlQueryable) => Promise<T>): Promise<T> {
      return (await sql.begin((t) => fn(wrap(t)))) as T;
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}

export interface PgliteDb extends SqlDb {
  readonly kind: 'pglite';
  /** A tarball of the data directory, to start another instance from (`template`). */
  dump(): Promise<Blob>;
}

export interface PgliteOptions {
  /**
   * Start from this dump instead of an empty cluster. initdb costs seconds; loading a dump of
   * an already-migrated database takes well under one, which is what tests want.
   */
  template?: Blob;
}

/**
 * Embedded Postgres (PGlite): one backend in this process, persisted to `dataDir`
 * (or `memory://` for tests). The directory is this process's alone until `close` (a lock file:
 * data-dir-lock.ts); a second process on it is refused with DataDirInUseError.
 *
 * PGlite has a single connection, so a statement issued while another caller's transaction is
 * open would run INSIDE that transaction. Every operation therefore goes through one FIFO queue:
 * a transaction holds the queue from BEGIN to COMMIT.
 */
export async function openPglite(dataDir: string, opts: PgliteOptions = {}): Promise<PgliteDb> {
  const { PGlite } = await import('@electric-sql/pglite'); // only in embedded mode (~6 MiB resident)
  const unlock = dataDir.startsWith('memory://') ? () => {} : lockDataDir(dataDir);
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir, {
      parsers: { [INT8_OID]: (x: string) => Number(x) },
      ...(opts.template ? { loadDataDir: opts.template } : {}),
    });
  } catch (err) {
    unlock();
    throw err;
  }
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const run = tail.then(op, op);
    tail = run.catch(() => {});
    return run;
  };
  const wrap = (c: PGlite | Transaction): SqlQueryable => ({
    async query<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
      const res = await c.query<T>(text, params as unknown[]);
      return res.rows;
    },
    async exec(script: string): Promise<void> {
      await c.exec(script);
    },
  });
  const raw = wrap(db);
  return {
    kind: 'pglite',
    query: (text, params) => serial(() => raw.query(text, params)),
    exec: (script) => serial(() => raw.exec(script)),
    tx: (fn) => serial(() => db.transaction((t) => fn(wrap(t)))),
    close: () => serial(() => db.close()).finally(unlock),
    dump: () => serial(() => db.dumpDataDir('none')),
  };
}
