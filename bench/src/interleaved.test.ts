import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { interleaved, parseSmallRoomsArgs } from './interleaved.js';

// Smoke test of the interleaved runner (`npm run bench -- small-rooms --quick`, one load): real
// gateways, Socket.IO + Postgres peer, uWS relay, a private redis-server per trial, Postgres. It
// proves the harness runs end to end and measures every figure, not any value.
describe('bench small-rooms --quick', () => {
  it('runs Parley, Socket.IO + Postgres and the uWS relay on fresh processes and measures per message', async () => {
    const o = parseSmallRoomsArgs(['--quick', '--steps=50', '--fixed=50', '--rooms=10']);
    try {
      const r = await interleaved(o);
      expect(r.meta.trials).toBe(3);
      const cell = r.medians['50'] ?? {};
      for (const name of ['parley', 'socketio-pg', 'uws-relay'] as const) {
        const d = cell[name];
        expect(d, name).toBeTruthy();
        expect(d?.deliveredPct, name).toBeGreaterThan(0);
        expect(d?.usPerMsg.servers, name).toBeGreaterThan(0);
        expect(d?.usPerMsg.redis, name).toBeGreaterThan(0);
        expect(d?.syscallsPerMsg, name).toBeGreaterThan(0);
      }
      // Both persisting systems have Postgres CPU and commits; the relay has neither.
      expect(cell.parley?.usPerMsg.postgres).toBeGreaterThan(0);
      expect(cell.parley?.msgsPerCommit).toBeGreaterThanOrEqual(1);
      expect(cell['socketio-pg']?.usPerMsg.postgres).toBeGreaterThan(0);
      expect(cell['socketio-pg']?.msgsPerCommit).toBe(1);
      expect(cell['uws-relay']?.usPerMsg.postgres).toBe(0);
      expect(r.ratios.cpuPerMsg['50']?.['uws-relay']).toBeGreaterThan(0);
    } finally {
      await rm(o.outDir, { recursive: true, force: true });
    }
  }, 180_000);

  it('the persisting relay (uws-relay-pg) commits each message before it delivers', async () => {
    const o = parseSmallRoomsArgs(['--quick', '--steps=50', '--fixed=50', '--rooms=10', '--systems=uws-relay-pg']);
    try {
      const r = await interleaved(o);
      const d = r.medians['50']?.['uws-relay-pg'];
      expect(d?.deliveredPct).toBeGreaterThan(0);
      expect(d?.usPerMsg.servers).toBeGreaterThan(0);
      expect(d?.usPerMsg.postgres).toBeGreaterThan(0);
      expect(d?.msgsPerCommit).toBe(1);
    } finally {
      await rm(o.outDir, { recursive: true, force: true });
    }
  }, 120_000);
});
