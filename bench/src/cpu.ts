import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux we run on). */
const HZ = 100;

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; NaN if unreadable. */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: fields after its closing parenthesis.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / HZ; // utime, stime (fields 14, 15)
  } catch {
    return Number.NaN;
  }
}

/** Total CPU seconds of these processes; one that is gone (or unreadable) counts 0. */
export function sumCpuSeconds(pids: readonly number[]): number {
  return pids.reduce((a, pid) => a + (procCpuSeconds(pid) || 0), 0);
}

/**
 * CPU seconds of a process's live threads at nanosecond resolution: the sum of
 * `se.sum_exec_runtime` (ms) in /proc/<pid>/task/<tid>/sched. /proc/<pid>/stat counts in 10 ms
 * ticks, which over a few seconds at a few hundred messages/s is a resolution of tens of µs per
 * message — as large as the differences being measured. Threads that exited are not counted (the
 * processes measured keep theirs: libuv's pool, V8's compiler and GC helpers, Redis's bio
 * threads). Falls back to procCpuSeconds when /proc/<pid>/task/<tid>/sched is not there.
 */
export function preciseCpuSeconds(pid: number): number {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return Number.NaN;
  }
  let ms = 0;
  for (const tid of tids) {
    try {
      const m = /se\.sum_exec_runtime\s+:\s+([\d.]+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8'));
      if (!m) return procCpuSeconds(pid);
      ms += Number(m[1]);
    } catch {
      // the thread exited meanwhile
    }
  }
  return ms / 1000;
}

/** preciseCpuSeconds summed; a process that is gone counts 0. */
export function sumPreciseCpuSeconds(pids: readonly number[]): number {
  return pids.reduce((a, pid) => a + (preciseCpuSeconds(pid) || 0), 0);
}

/** The local redis-server's pid (`INFO server` process_id), or null when it is not on this machine. */
export async function redisPid(url: string): Promise<number | null> {
  const r = new Redis(url);
  try {
    const pid = Number(/process_id:(\d+)/.exec(await r.info('server'))?.[1]);
    return Number.isFinite(pid) && !Number.isNaN(procCpuSeconds(pid)) ? pid : null;
  } finally {
    r.disconnect();
  }
}

/** This process's CPU seconds (process.cpuUsage). */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Pids of the local Postgres backends serving `database` (their title is `postgres: … <user> <database> …`). */
export function postgresBackendPids(database: string): number[] {
  return readdirSync('/proc').flatMap((d) => {
    if (!/^\d+$/.test(d)) return [];
    try {
      const title = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      return title.startsWith('postgres:') && title.split(' ').includes(database) ? [Number(d)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}
