import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allocatorNote, detectAllocator } from './allocator.js';

const LAUNCHER = join(import.meta.dirname, '..', 'scripts', 'node.sh');
/** The paths the launcher looks at, in its order (read from the script, not restated here). */
const JEMALLOC_PATHS = [...readFileSync(LAUNCHER, 'utf8').matchAll(/\S+\/libjemalloc\.so\.2/g)].map((m) => m[0]);
const PROBE =
  "console.log(JSON.stringify({ preload: process.env.LD_PRELOAD ?? null, mapped: require('fs').readFileSync('/proc/self/maps', 'utf8').includes('libjemalloc') }))";

/** Runs node through scripts/node.sh and reports what it was started with. */
function launch(env: Record<string, string | undefined>): { preload: string | null; mapped: boolean } {
  const { LD_PRELOAD: _, PARLEY_MALLOC: __, ...rest } = process.env;
  const out = execFileSync('sh', [LAUNCHER, '-e', PROBE], { env: { ...rest, NODE: process.execPath, ...env } as NodeJS.ProcessEnv });
  return JSON.parse(out.toString());
}

describe('allocator', () => {
  it('is jemalloc only when the library is mapped', () => {
    expect(detectAllocator(() => '7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n')).toBe('jemalloc');
    expect(detectAllocator(() => '7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n')).toBe('system');
    expect(
      detectAllocator(() => {
        throw new Error('no /proc here');
      }),
    ).toBe('system');
    expect(allocatorNote('system', 'linux')).toMatch(/libjemalloc2/);
    expect(allocatorNote('jemalloc')).toBe('allocator: jemalloc');
  });

  it.runIf(process.platform === 'linux')('scripts/node.sh preloads jemalloc when the system has it, unless told not to', () => {
    expect(JEMALLOC_PATHS).toContain('/usr/lib/x86_64-linux-gnu/libjemalloc.so.2');
    const installed = JEMALLOC_PATHS.find((p) => existsSync(p));
    const auto = launch({});
    expect(auto.preload).toBe(installed ?? null);
    expect(auto.mapped).toBe(installed !== undefined);
    expect(launch({ PARLEY_MALLOC: 'system' })).toEqual({ preload: null, mapped: false });
  });

  it.runIf(process.platform === 'linux')('scripts/node.sh leaves an LD_PRELOAD it was given alone', () => {
    // Preloading the C library itself changes nothing; it stands for an operator's own preload.
    const libc = ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/aarch64-linux-gnu/libc.so.6', '/lib64/libc.so.6'].find((p) => existsSync(p));
    if (!libc) throw new Error('no libc.so.6 at the usual paths: extend the list');
    expect(launch({ LD_PRELOAD: libc })).toEqual({ preload: libc, mapped: false });
  });
});
