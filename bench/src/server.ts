import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { UwsInfo } from '@parley/gateway/uws';
import { noteUws } from './uws-build.js';

export interface Server {
  proc: ChildProcess;
  url: string;
  port: number;
  /** The uWebSockets.js build the gateway runs (its startup log line). */
  uws: UwsInfo | undefined;
  /** The malloc it runs on (its startup log: 'jemalloc' through scripts/node.sh when installed, else 'system'). */
  allocator: string | undefined;
  rssKiB(): number;
  /** The most it has been resident since it started (VmHWM). */
  peakRssKiB(): number;
  /** The gateway's memory (bytes) right after a memory-reducing GC (gc-hook.mjs). Needs `{ gcHook: true }`. */
  memoryAfterGc(): Promise<NodeJS.MemoryUsage>;
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** Preload gc-hook.mjs so that memoryAfterGc() works. */
  gcHook?: boolean;
  /** The gateway package to run (default: this checkout's apps/gateway). */
  dir?: string;
}

const GATEWAY_DIR = join(import.meta.dirname, '..', '..', 'apps', 'gateway');
const BENCH_JWT_SECRET = process.env.PARLEY_JWT_SECRET || randomBytes(32).toString('hex');
const built = new Map<string, string[]>();

/**
 * How to run the gateway package in `dir`: as `npm start` runs it, compiled
 * (apps/gateway/scripts/build.mjs), built once per bench process from that checkout's sources into
 * a directory of its own beside `dist` (removed at exit), so that two benches, or a bench and
 * `npm start`, never read each other's half-written bundle. A checkout from before the build step
 * (an A/B baseline, BENCH_PARLEY_B_DIR) runs through tsx, as its `npm start` did. Node arguments,
 * relative to `dir`.
 */
function gatewayEntry(dir: string): string[] {
  let args = built.get(dir);
  if (!args) {
    if (existsSync(join(dir, 'scripts', 'build.mjs'))) {
      const out = `.dist-bench-${process.pid}`;
      execFileSync(process.execPath, ['scripts/build.mjs', out], { cwd: dir, stdio: 'inherit' });
      process.once('exit', () => rmSync(join(dir, out), { recursive: true, force: true }));
      args = [join(out, 'main.js')];
    } else args = ['--import', 'tsx', 'src/main.ts'];
    built.set(dir, args);
  }
  return args;
}

/** Starts a gateway process (the same code as `npm start`, compiled) and waits until it listens. */
export function startGateway(env: Record<string, string>, opts: GatewayOptions = {}): Promise<Server> {
  // BENCH_CPU_PROF=1 writes a V8 CPU profile of the gateway to bench/results/ (open in Chrome DevTools).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${join(import.meta.dirname, '..', 'results')}`] : [];
  // BENCH_GATEWAY_FLAGS="--trace-deopt …" passes node/V8 flags to the gateways only (logs go to BENCH_GATEWAY_LOG).
  const flags = process.env.BENCH_GATEWAY_FLAGS?.split(' ').filter(Boolean) ?? [];
  const gcHook = opts.gcHook ? ['--import', join(import.meta.dirname, 'gc-hook.mjs')] : [];
  const dir = opts.dir ?? GATEWAY_DIR;
  const args = [...prof, ...flags, ...gcHook, ...gatewayEntry(dir)];
  // Through scripts/node.sh, as `npm start` runs it (jemalloc when installed); an older checkout
  // without the script (an A/B baseline) runs node directly, as its `npm start` did.
  const launcher = join(dir, 'scripts', 'node.sh');
  const [cmd, argv] = existsSync(launcher) ? ['sh', [launcher, ...args]] : [process.execPath, args];
  const proc = spawn(cmd, argv, {
    cwd: dir,
    // The readiness line is logged at info.
    // Every gateway of one bench run shares a token secret (required with DATABASE_URL).
    env: {
      ...process.env,
      NODE: process.execPath,
      PARLEY_JWT_SECRET: BENCH_JWT_SECRET,
      PARLEY_PORT: '0',
      PARLEY_HOST: '127.0.0.1',
      // No default channels: the scenarios create theirs (e.g. "general") and expect a fresh name.
      PARLEY_DEFAULT_CHANNELS: '',
      // Load generators set rooms up with one account and may connect it many times: the
      // per-account caps (channels owned, connections per node) are for people, not for this.
      PARLEY_MAX_CHANNELS_PER_USER: '1000000',
      PARLEY_MAX_CONNS_PER_USER: '1000000',
      // Thousands of bench clients come from 127.0.0.1: the per-address caps (connections per node,
      // new guests) are for abuse, not for this.
      PARLEY_GUESTS_PER_ADDR: '0',
      PARLEY_MAX_CONNS_PER_ADDR: '0',
      ...env,
      PARLEY_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = []; // the last lines, for the error when it exits early
  const logFile = process.env.BENCH_GATEWAY_LOG;
  const memoryWaiters: ((m: NodeJS.MemoryUsage) => void)[] = [];
  let uws: UwsInfo | undefined;
  let allocator: string | undefined;
  // Never leave a gateway behind when the bench dies (an exception, Ctrl-C).
  const orphanGuard = () => proc.kill('SIGKILL');
  process.once('exit', orphanGuard);
  proc.once('exit', () => process.off('exit', orphanGuard));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        if (line.startsWith('{"benchMemory"')) {
          memoryWaiters.shift()?.(JSON.parse(line).benchMemory);
          continue;
        }
        logs.push(line);
        if (logs.length > 50) logs.shift();
        if (logFile) appendFileSync(logFile, `${line}\n`);
        if (line.includes('"msg":"uWebSockets.js loaded"')) uws = (JSON.parse(line) as { uws: UwsInfo }).uws;
        allocator ??= /"allocator":"(\w+)"/.exec(line)?.[1];
        const port = /"port":(\d+)/.exec(line)?.[1];
        if (port && line.includes('gateway listening')) {
          if (!line.includes('"native":true') || !uws?.native) {
            proc.kill('SIGKILL');
            reject(new Error('gateway is on the uWebSockets.js JS fallback: refusing to benchmark it'));
            return;
          }
          noteUws('the gateway', uws);
          resolve({
            proc,
            port: Number(port),
            url: `http://127.0.0.1:${port}`,
            uws,
            allocator,
            rssKiB: () => statusKiB(proc.pid, 'VmRSS'),
            peakRssKiB: () => statusKiB(proc.pid, 'VmHWM'),
            memoryAfterGc: () => {
              if (!opts.gcHook) return Promise.reject(new Error('startGateway(env, { gcHook: true }) is needed for memoryAfterGc'));
              return new Promise((r) => {
                memoryWaiters.push(r);
                proc.kill('SIGUSR2');
              });
            },
            stop: () =>
              new Promise<void>((r) => {
                proc.once('exit', () => r());
                proc.kill('SIGTERM');
              }),
          });
        }
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`gateway exited (${code}):\n${logs.slice(-20).join('\n')}`)));
  });
}

/** A memory field of /proc/<pid>/status, in KiB. */
function statusKiB(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}
