import { describe, expect, it } from 'vitest';
import { fanout, parseFanoutArgs } from './fanout.js';

// The smoke test of the fanout harness (`npm run bench -- fanout --quick`): real gateways, real
// peers, real Redis and Postgres, tiny sizes. It proves the harness works end to end, not any figure.
describe('bench fanout --quick', () => {
  it('drives Parley, Socket.IO (lean client) and single-node uWS, and delivers everything', async () => {
    const r = await fanout(parseFanoutArgs(['--quick']));
    for (const name of ['parley', 'socketio-lean', 'uws-single'] as const) {
      const s = r.systems[name];
      expect(s, name).toBeDefined();
      expect(s?.error, name).toBeUndefined();
      expect(s?.steps, name).toBeGreaterThan(0);
      expect(s?.saturationPerS, name).toBeGreaterThan(0);
      expect(s?.usPerDelivery, name).toBeGreaterThan(0);
    }
    // Ratios are given only for loads both passed; a loaded CI box may fail a quick step's p99.
    expect(r.targets).not.toBeNull();
    for (const offered of Object.keys(r.targets?.cpuRatioByOffered ?? {})) expect(['1000', '4000']).toContain(offered);
  }, 90_000);
});
