import { describe, expect, it } from 'vitest';
import { markdown, type StepResult, type SystemResult, saturation, targets } from './fanout-report.js';

const step = (offered: number, p99Ms: number, us: number, deliveredPct = 100): StepResult => ({
  offered,
  sentPerS: offered,
  deliveredPerS: offered * (deliveredPct / 100),
  deliveredPct,
  p50Ms: p99Ms / 3,
  p99Ms,
  maxMs: p99Ms * 1.2,
  serverCpuPct: 50,
  redisCpuPct: 3,
  postgresCpuPct: null,
  generatorCpuPct: 60,
  serverUsPerDelivery: us,
  errors: 0,
  ok: p99Ms <= 100 && deliveredPct >= 95,
});

const parley: SystemResult = {
  system: 'parley',
  label: 'Parley',
  steps: [step(20_000, 8, 2), step(50_000, 40, 1.5), step(100_000, 90, 1), step(200_000, 300, 0.5)],
};
const sio: SystemResult = {
  system: 'socketio-lean',
  label: 'Socket.IO',
  steps: [step(20_000, 5, 16), step(50_000, 120, 12), step(100_000, 400, 7, 90)],
};

describe('fanout report: targets', () => {
  it('saturation takes the highest passing step for a p99 bound', () => {
    expect(saturation(parley)?.offered).toBe(100_000);
    expect(saturation(parley, 50)?.offered).toBe(50_000);
    expect(saturation(sio)?.offered).toBe(20_000);
  });

  it("CPU ratio per shared offered load; saturation against issue 11's goals (≥ 1.5× Socket.IO, ≥ 0.5× the relay)", () => {
    const relay: SystemResult = { system: 'uws-relay', label: 'relay', steps: [step(100_000, 20, 1), step(200_000, 60, 0.8)] };
    const t = targets([parley, sio, relay]);
    expect(t?.cpuRatio.map((c) => [c.offered, c.ratio, c.bothPassed])).toEqual([
      [20_000, 2 / 16, true],
      [50_000, 1.5 / 12, false],
      [100_000, 1 / 7, false],
    ]);
    expect(t?.saturationRatio).toEqual([
      { peer: 'socketio-lean', parley: 100_000, peerValue: 20_000, ratio: 5, goal: 1.5 },
      { peer: 'uws-relay', parley: 100_000, peerValue: 200_000, ratio: 0.5, goal: 0.5 },
    ]);
    const md = markdown([parley, sio, relay], {}, 50_000);
    expect(md).toContain('| 20k | 2 | 16 | 0.13 |');
    expect(md).toContain('| 50k | 1.5 | 12 | 0.13 (a step failed) |');
    expect(md).toContain('| vs Socket.IO (target ≥ 1.5×) | 100k | 20k | 5 ✓ |');
    expect(md).toContain('| vs relay (target ≥ 0.5×) | 100k | 200k | 0.5 ✓ |');
    expect(targets([parley, sio])?.saturationRatio.map((s) => s.peer)).toEqual(['socketio-lean']);
  });

  it('no targets without both Parley and Socket.IO (lean)', () => {
    expect(targets([parley])).toBeNull();
    expect(markdown([parley], {}, 50_000)).not.toContain('## Targets');
  });
});
