import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Syscalls made by a set of processes over a window. */
export interface SyscallCounts {
  /** How they were counted: perf's in-kernel tracepoint counters, or /proc/<pid>/io (read/write-class only). */
  source: 'perf' | 'proc-io';
  total: number;
  /** epoll_wait / epoll_pwait / epoll_pwait2: each is one event-loop wakeup (or a poll that found work). */
  epoll: number;
  /** write, writev, sendto, sendmsg. */
  writes: number;
  /** read, readv, recvfrom, recvmsg. */
  reads: number;
}

const GROUPS: Record<keyof Omit<SyscallCounts, 'source'>, string[]> = {
  total: ['raw_syscalls:sys_enter'],
  epoll: ['epoll_wait', 'epoll_pwait', 'epoll_pwait2'].map((s) => `syscalls:sys_enter_${s}`),
  writes: ['write', 'writev', 'sendto', 'sendmsg'].map((s) => `syscalls:sys_enter_${s}`),
  reads: ['read', 'readv', 'recvfrom', 'recvmsg'].map((s) => `syscalls:sys_enter_${s}`),
};

/** Parses `perf stat -x,` output (count,unit,event,…) into the groups above; null if it has no total. */
export function parsePerfStat(text: string): SyscallCounts | null {
  const byEvent = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.split(',');
    const n = Number(f[0]);
    if (f.length >= 3 && f[2] && Number.isFinite(n) && f[0] !== '') byEvent.set(f[2], (byEvent.get(f[2]) ?? 0) + n);
  }
  if (!byEvent.has('raw_syscalls:sys_enter')) return null;
  const sum = (events: string[]) => events.reduce((a, e) => a + (byEvent.get(e) ?? 0), 0);
  return { source: 'perf', total: sum(GROUPS.total), epoll: sum(GROUPS.epoll), writes: sum(GROUPS.writes), reads: sum(GROUPS.reads) };
}

function procIo(pids: readonly number[]): { syscr: number; syscw: number } {
  let syscr = 0;
  let syscw = 0;
  for (const pid of pids) {
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'utf8');
      syscr += Number(/syscr: (\d+)/.exec(io)?.[1] ?? 0);
      syscw += Number(/syscw: (\d+)/.exec(io)?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return { syscr, syscw };
}

/**
 * Starts counting the syscalls of `pids` (every thread that exists now) and returns a stop that
 * resolves with the counts over the window.
 *
 * perf stat on the syscall tracepoints counts in the kernel: no per-syscall stop of the traced
 * process, so the CPU measured over the same window stays honest. `strace -c -f -p` would give
 * the same counts but ptrace stops the process twice per syscall, which at tens of thousands of
 * syscalls/s slows it several-fold and so distorts the very CPU and latency being measured: it is
 * not used. When perf cannot attach (no perf, perf_event_paranoid, no tracefs), /proc/<pid>/io's
 * syscr + syscw are the fallback; they count read- and write-class calls through the VFS only
 * (read/write/readv/writev…, not send/recv/epoll), so they are labelled `proc-io` and undercount.
 */
export function countSyscalls(pids: readonly number[]): () => Promise<SyscallCounts> {
  const io0 = procIo(pids);
  const fallback = (): SyscallCounts => {
    const io1 = procIo(pids);
    const reads = io1.syscr - io0.syscr;
    const writes = io1.syscw - io0.syscw;
    return { source: 'proc-io', total: reads + writes, epoll: Number.NaN, writes, reads };
  };
  if (!pids.length || process.env.BENCH_NO_PERF) return async () => fallback();
  const events = Object.values(GROUPS).flat();
  let out = '';
  let failed = false;
  const perf = spawn('perf', ['stat', '-x,', '-e', events.join(','), '-p', pids.join(',')], { stdio: ['ignore', 'ignore', 'pipe'] });
  perf.stderr?.on('data', (d) => (out += d));
  perf.once('error', () => (failed = true));
  const exited = new Promise<void>((r) => perf.once('close', () => r()));
  const guard = () => perf.kill('SIGKILL');
  process.once('exit', guard);
  return async () => {
    process.off('exit', guard);
    if (!failed && perf.exitCode === null) perf.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    return (!failed && parsePerfStat(out)) || fallback();
  };
}
