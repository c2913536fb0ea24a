import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface FdLimit {
  soft: number;
  hard: number;
  /** The soft limit was raised here (prlimit) to reach `need`. */
  raised: boolean;
}

function read(): { soft: number; hard: number } {
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  const n = (s: string | undefined) => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
  return { soft: n(line?.[1]), hard: n(line?.[2]) };
}

/**
 * Makes sure this process — and so every process it spawns afterwards (HAProxy, gateways), which
 * inherit its limits — may open `need` files. Node already raises its soft RLIMIT_NOFILE to the
 * hard limit at startup, so under `npm run bench` the soft limit is normally `ulimit -Hn`. If that
 * is still short, this raises it with `prlimit --pid <self>` (which can go past the hard limit only
 * with CAP_SYS_RESOURCE) and fails with the command to run when it cannot.
 */
export function ensureFdLimit(need: number, why: string): FdLimit {
  const before = read();
  if (before.soft >= need) return { ...before, raised: false };
  const hard = Math.max(need, before.hard);
  const r = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${need}:${hard}`], { encoding: 'utf8' });
  const after = read();
  if (after.soft >= need) return { ...after, raised: true };
  const detail = r.error ? r.error.message : (r.stderr || '').trim();
  throw new Error(
    `${why} needs ${need} open files per process, but this one may open ${before.soft} (hard limit ${before.hard}) ` +
      `and raising it failed (${detail || 'no reason given'}). Raise it in the shell that runs the bench, e.g. ` +
      `\`ulimit -n ${need}\` (as root \`ulimit -Hn ${need}; ulimit -n ${need}\`), or run fewer clients.`,
  );
}
