import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
import { reduceMemory } from './gc-hook-loader.js';

/**
 * Preloaded into a gateway by the bench only (`startGateway(env, { gcHook: true })`); the gateway
 * itself knows nothing of it. On SIGUSR2 it prints one line with process.memoryUsage() taken
 * right after V8's most thorough collection, the memory-reducing one: full GCs until nothing more
 * is freed, old-space compaction, the young generation shrunk back, pooled pages returned to the
 * OS. That is the state V8's memory reducer brings an idle process to by itself (tens of seconds
 * later); reaching it on demand makes the sample independent of when the last GC happened to run.
 * Everything live stays counted: JS objects, uWS's native per-socket memory, malloc'd buffers.
 *
 * The gateway runs through tsx, whose module hooks live on a thread of their own with a V8 heap
 * of its own (~35 MiB here); left alone, it shrinks whenever that thread's GC decides to, which
 * moved the process's RSS by ±30 MiB between two samples. So the same collection runs there too
 * (gc-hook-loader.ts, registered as a hooks module).
 */
const { port1: hooksThread, port2 } = new MessageChannel();
register('./gc-hook-loader.ts', import.meta.url, { data: { port: port2 }, transferList: [port2] });
hooksThread.unref();

process.on('SIGUSR2', () => {
  hooksThread.once('message', () => {
    reduceMemory();
    setTimeout(() => console.log(JSON.stringify({ benchMemory: process.memoryUsage() })), 300);
  });
  hooksThread.postMessage('gc');
});
