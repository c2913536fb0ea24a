import { queryObjects } from 'node:v8';
import type { MessagePort } from 'node:worker_threads';

class NoInstances {}

/**
 * A memory-reducing GC of the calling thread's heap. Node has no public "collect all available
 * garbage" call, but v8.queryObjects() starts with exactly that (so that it counts live objects
 * only); it is asked about a class with no instances.
 */
export function reduceMemory(): void {
  queryObjects(NoInstances, { format: 'count' });
}

/**
 * Module-hooks entry point: gc-hook.ts registers this file as a hooks module (with no hooks) so
 * that it runs on Node's module-hooks thread and collects that thread's heap when asked.
 */
export function initialize({ port }: { port: MessagePort }): void {
  port.on('message', () => {
    reduceMemory();
    port.postMessage('done');
  });
  port.unref();
}
