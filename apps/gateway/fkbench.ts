import { readdirSync, readFileSync } from 'node:fs';
import postgres from 'postgres';
import { openPostgres } from './src/adapters/sql/db.js';
import { migrate } from './src/adapters/sql/migrate.js';
import { SqlMessageStore } from './src/adapters/sql/sql-message-store.js';

const cpuOf = (db: string) =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .reduce((a, d) => {
      try {
        const t = readFileSync(`/proc/${d}/cmdline`, 'utf8');
        if (!t.startsWith('postgres:') || !t.split(' ').includes(db)) return a;
        const f = readFileSync(`/proc/${d}/stat`, 'utf8');
        const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
        return a + (Number(x[11]) + Number(x[12])) / 100;
      } catch {
        return a;
      }
    }, 0);
const admin = postgres('postgres://postgres@127.0.0.1:5432/postgres', { max: 1, onnotice: () => {} });
for (const variant of (process.argv[2] ?? 'fk,nofk,fk,nofk').split(',')) {
  const name = `fkb_${process.pid}_${variant.replace(/\W/g, '')}_${Date.now().toString(36)}`;
  await admin.unsafe(`create database ${name}`);
  const db = openPostgres(`postgres://postgres@127.0.0.1:5432/${name}`, { max: 4 });
  await migrate(db);
  if (variant.includes('nofk')) await db.exec('ALTER TABLE messages DROP CONSTRAINT messages_user_id_fkey');
  if (variant.includes('nouidx')) await db.exec('DROP INDEX messages_user_idx');
  const users = await db.query<{ id: number }>(
    "INSERT INTO users (name, guest) SELECT 'u'||g, true FROM generate_series(1,200) g RETURNING id",
  );
  const chans = await db.query<{ id: number }>("INSERT INTO channels (name) SELECT 'c'||g FROM generate_series(1,200) g RETURNING id");
  const store = new SqlMessageStore(db);
  const batches = 400,
    per = 150;
  let k = 0;
  const run = async (n: number) => {
    k = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (k < n) {
          k++;
          const items = Array.from({ length: per }, (_, i) => {
            const j = (k * per + i) % 200;
            return { cid: chans[j]!.id, userId: users[j]!.id, user: 'u', text: 'x'.repeat(60), cmid: `${Math.random()}` };
          });
          await store.appendBatch(items);
        }
      }),
    );
  };
  await run(40);
  const c0 = cpuOf(name);
  const t0 = performance.now();
  await run(batches);
  const t = performance.now() - t0;
  const c = cpuOf(name) - c0;
  console.log(
    variant,
    `${((t * 1000) / (batches * per)).toFixed(1)} µs wall/msg, PG backend CPU ${((c * 1e6) / (batches * per)).toFixed(1)} µs/msg`,
  );
  await db.close();
  await admin.unsafe(`drop database ${name} with (force)`);
}
await admin.end();
