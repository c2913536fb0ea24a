import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytes } from './bytes.js';
import { EVENTS } from './bytes-events.js';
import { connectStorm, parseStormArgs } from './connect-storm.js';
import { wsHeaderBytes } from './wire-tap.js';

// Smoke tests of the bytes and connect-storm scenarios: real gateways, a real Socket.IO server, a
// real HAProxy, real Redis and Postgres. bytes runs in full (it is small); connect-storm with 50
// clients. Results go to a temp dir, never to bench/results.
const out = join(tmpdir(), `parley-bench-smoke-${process.pid}`);

describe('bench bytes', () => {
  it('captures every event from Parley and Socket.IO, byte-exact on the wire', async () => {
    const r = await bytes(out);
    expect(r.tcpVerified, JSON.stringify(r.tcpMismatches)).toBe(true);
    expect(r.parleyEncodeEventMatches).toBe(true);
    expect(r.parleyBatched).toEqual([]);
    for (const e of EVENTS) {
      const x = r.events[e];
      expect(x, e).toBeDefined();
      for (const s of [x?.parley, x?.socketio, x?.seed]) expect(s?.wire, e).toBe((s?.payload ?? 0) + wsHeaderBytes(s?.payload ?? 0));
      expect(x?.parley.payload, e).toBeGreaterThan(0);
      expect(x?.parley.payload, e).toBeLessThan(x?.socketio.payload ?? 0);
      expect(x?.socketio.payload, e).toBeLessThan(x?.seed.payload ?? 0);
    }
    // The brief's targets, now on real frames.
    const chat = r.events['chat message'];
    expect((chat?.parley.payload ?? 0) / (chat?.seed.payload ?? 1)).toBeLessThanOrEqual(0.35);
    expect(r.events.typing?.parley.payload).toBeLessThanOrEqual(20);
  }, 60_000);
});

describe('bench connect-storm 50', () => {
  it('connects 50 guests through HAProxy to 2 gateways and joins them', async () => {
    const r = await connectStorm(parseStormArgs(['50', '--hold=0.5', `--out=${out}`]));
    expect(r.joined + r.failed).toBe(50);
    // A burst sometimes loses a socket right after open (close 1006, counted, never retried): tolerate a few.
    expect(r.joined, JSON.stringify(r.failures)).toBeGreaterThanOrEqual(45);
    expect(r.allJoinedMs).toBeGreaterThan(0);
    expect(r.connectionsPerS).toBeGreaterThan(0);
    const { p50, p99, max } = r.connectToJoinedMs;
    expect(p50).not.toBeNull();
    expect(p50 as number).toBeLessThanOrEqual(p99 as number);
    expect(p99 as number).toBeLessThanOrEqual(max as number);
    // leastconn spreads a burst: both gateways take a share, and their own counts agree.
    const nodes = Object.values(r.nodes);
    expect(nodes).toHaveLength(2);
    for (const n of nodes) {
      expect(n.joined).toBeGreaterThanOrEqual(10);
      // Each gateway's own gauge agrees, give or take a socket that failed (closed or timed out).
      expect(Math.abs((n.openConnections ?? -100) - n.joined)).toBeLessThanOrEqual(r.failed);
    }
    expect(r.haproxySessionLimit).toBeGreaterThanOrEqual(100);
  }, 90_000);
});
