import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Smoke tests of the one-record scenarios through the real command (`npm run bench -- …` runs
// src/run.ts): tiny sizes, real gateways, Postgres and Redis. They prove each scenario still
// runs end to end and writes its results table, not any figure.
const RUN = join(import.meta.dirname, 'run.ts');

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', RUN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bench idle, durable, resume, xnode, abuse (smoke)', () => {
  let out = '';
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'parley-bench-smoke-'));
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it.each([
    ['durable', ['5', '2', '1', '5', '--reps=2'], ['ackedPerS', 'ackP99Ms', 'cpuPct', 'repetitions'], 'every pair: ratio'],
    ['idle', ['50'], ['rssPerConnKiB', 'heapPerConnKiB'], 'RSS per connection (KiB)'],
    ['resume', ['300'], ['catchUpMs', 'correct'], 'no gap, no duplicate'],
    ['xnode', ['20', '1'], ['p50Ms', 'p99Ms'], 'p99 (ms)'],
    ['abuse', ['--bombs=1', '--readers=10', '--seconds=1'], ['bomb', 'historyBurst'], 'burst: canary send → receive p99 (ms)'],
  ])('%s runs and writes its table', async (scenario, args, fields, row) => {
    const r = await bench([scenario, ...args, `--out=${out}`]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(json.scenario).toBe(scenario);
    for (const f of fields) expect(json[f], f).toBeDefined();
    if (scenario === 'resume') expect(json.correct).toBe(true);
    expect(r.stderr).toContain(`[${scenario} `); // progress lines
    const md = await readFile(join(out, `${scenario}.md`), 'utf8');
    expect(md).toContain(`npm run bench -- ${scenario} ${args.join(' ')}`);
    expect(md).toContain(`| ${row} |`);
  });
});

describe('bench pgcost (smoke)', () => {
  it('measures every statement variant on a throwaway database', async () => {
    const r = await bench(['pgcost', '--rate=500', '--calls=20', '--rounds=1', '--big=20']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
      perCall: Record<string, { backendUs: number; clientUs: number; p50Ms: number; p90Ms: number }>;
    };
    expect(Object.keys(json.perCall)).toEqual([
      'select1',
      'insert',
      'parley_one',
      'parley_one_fresh',
      'parley_append1',
      'parley_append3',
      'parley_fresh3',
      'unfenced_one_fresh',
      'unfenced_fresh3',
      'parley_one_fresh_nosync',
      'parley_one_fresh_copy',
      'parley_one_fresh_no_user_idx',
      'parley_one_fresh_no_user_cmid_idx',
      'parley_append20',
      'parley_fresh20',
      'unfenced_fresh20',
    ]);
    for (const v of Object.values(json.perCall)) {
      expect(v.backendUs).toBeGreaterThan(0);
      expect(v.p50Ms).toBeGreaterThan(0);
      expect(v.p90Ms).toBeGreaterThanOrEqual(v.p50Ms);
    }
  });
});
