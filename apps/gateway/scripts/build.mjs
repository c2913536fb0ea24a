// Builds the gateway into dist/ (`npm run build`; `npm start` runs it first): one ES module
// bundle of src/main.ts and the @parley/protocol sources, with every npm dependency left to
// node_modules. `node scripts/build.mjs <dir>` builds into apps/gateway/<dir> instead (the bench
// and the process test build their own, so that concurrent runs never read a half-written
// dist); it must be a direct child of apps/gateway, where src/paths.ts expects the bundle. Running compiled JavaScript instead of TypeScript through tsx saves tsx's
// module-hooks thread and transpile caches (~35 MiB resident; issue 11). Code imported only
// in one mode (the Redis adapters, PGlite) lands in chunks of its own, loaded when used.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const deps = (dir) => {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies });
};
const external = [...deps(root), ...deps(join(root, '..', '..', 'packages', 'protocol'))].filter((d) => !d.startsWith('@parley/'));

const outdir = process.argv[2] ?? 'dist';
if (!/^[\w.-]+$/.test(outdir)) throw new Error(`build: "${outdir}" is not a directory name (the bundle must sit directly in apps/gateway)`);
rmSync(join(root, outdir), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/main.ts'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  sourcemap: 'linked',
  logLevel: 'warning',
});
