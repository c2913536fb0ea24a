import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const LOCK_FILE = 'parley.pid';

/** A second process on the same embedded data directory: refused (see lockDataDir). */
export class DataDirInUseError extends Error {}

/**
 * Takes `dataDir` for this process, as Postgres' postmaster.pid does for a real cluster. PGlite has
 * no lock of its own: two gateways started on one PARLEY_DATA_DIR (`npm start` twice) would both
 * write the same files — and, as uWS listens with SO_REUSEPORT, share the port too, each with its
 * own in-process broker, so the kernel splits the users between two chats that never meet.
 * A lock left by a process that is gone (kill -9) is taken over. Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = resolve(dataDir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
      // Our own pid on a lock this process never took: left by an earlier process that had the same
      // pid (a container's gateway is pid 1 after every restart), so stale as well.
      const stale = holder === process.pid ? !heldHere.has(file) : !alive(holder);
      if (attempt === 0 && stale) {
        unlinkSync(file); // left by a process that is gone; another starter may race us to it: retry once
        continue;
      }
      throw new DataDirInUseError(
        `PARLEY_DATA_DIR ${dataDir} is in use by another Parley process (pid ${holder}): stop it, or give this one ` +
          `its own PARLEY_DATA_DIR (and PARLEY_PORT). If no such process runs, delete ${file}.`,
      );
    }
  }
  heldHere.add(file);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    heldHere.delete(file);
    try {
      if (Number.parseInt(readFileSync(file, 'utf8'), 10) === process.pid) unlinkSync(file);
    } catch {
      // already gone
    }
  };
}

/** Lock files this process holds. */
const heldHere = new Set<string>();

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, someone else's
  }
}
