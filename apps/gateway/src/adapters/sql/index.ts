// What the bench's Postgres probe (bench/src/pgcost.ts) uses: the real statements, not copies.
export { openPostgres } from './db.js';
export { migrate } from './migrate.js';
export { APPEND, APPEND_FRESH, APPEND_ONE, APPEND_ONE_FRESH } from './sql-message-store.js';
