import { queryObjects } from 'node:v8';

/**
 * Preloaded into a gateway by the bench only (`startGateway(env, { gcHook: true })`); the gateway
 * itself knows nothing of it. On SIGUSR2 it prints one line with process.memoryUsage() taken
 * right after V8's most thorough collection, the memory-reducing one: full GCs until nothing more
 * is freed, old-space compaction, the young generation shrunk back, pooled pages returned to the
 * OS. That is the state V8's memory reducer brings an idle process to by itself (tens of seconds
 * later); reaching it on demand makes the sample independent of when the last GC happened to run.
 * Everything live stays counted: JS objects, uWS's native per-socket memory, malloc'd buffers.
 *
 * Node has no public "collect all available garbage" call, but v8.queryObjects() starts with
 * exactly that (so that it counts live objects only); it is asked about a class with no instances.
 *
 * Plain JavaScript: the gateway runs compiled (apps/gateway/scripts/build.mjs), without tsx. (When
 * it ran through tsx, tsx's module-hooks thread had a heap of its own, ~35 MiB, that had to be
 * collected too.)
 */
class NoInstances {}

process.on('SIGUSR2', () => {
  queryObjects(NoInstances, { format: 'count' });
  setTimeout(() => console.log(JSON.stringify({ benchMemory: process.memoryUsage() })), 300);
});
