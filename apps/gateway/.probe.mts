import { PGlite } from '@electric-sql/pglite';
let t = performance.now();
const a = await PGlite.create('memory://'); console.log('create', performance.now() - t); t = performance.now();
await a.exec('create table x(i int)');
const c = await a.clone(); console.log('clone', performance.now() - t); t = performance.now();
console.log(await c.query('select count(*) from x'));
const blob = await a.dumpDataDir('none'); console.log('dump', performance.now() - t); t = performance.now();
const b = await PGlite.create('memory://', { loadDataDir: blob }); console.log('load', performance.now() - t); t = performance.now();
