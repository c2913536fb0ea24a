import { readFileSync } from 'node:fs';

/** The malloc this process runs on: jemalloc when scripts/node.sh preloaded it, else the system's. */
export type Allocator = 'jemalloc' | 'system';

/**
 * Which allocator is mapped into this process (Linux: /proc/self/maps; elsewhere 'system'). Read
 * once at startup for the log line and `parley_allocator_info`.
 */
export function detectAllocator(maps: () => string = () => readFileSync('/proc/self/maps', 'utf8')): Allocator {
  try {
    return maps().includes('libjemalloc') ? 'jemalloc' : 'system';
  } catch {
    return 'system';
  }
}

let mine: Allocator | undefined;
/** This process's allocator, read once (the startup log and every metrics registry ask). */
export const processAllocator = (): Allocator => (mine ??= detectAllocator());

/** What the startup log says of it. */
export function allocatorNote(a: Allocator, platform: string = process.platform): string {
  if (a === 'jemalloc') return 'allocator: jemalloc';
  return platform === 'linux'
    ? 'allocator: the system malloc; with jemalloc (apt-get install libjemalloc2, started through scripts/node.sh) a joined connection costs ~0.8 KiB less after bursts'
    : 'allocator: the system malloc';
}
