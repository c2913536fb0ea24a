import { describe, expect, it } from 'vitest';
import type { SystemName } from './fanout-drivers.js';
import {
  type Cell,
  derive,
  median,
  medianRows,
  medianTable,
  perMessageFit,
  ratio,
  ratioRows,
  ratios,
  type Sample,
  saturationOf,
} from './permessage-report.js';
import { parsePerfStat } from './syscalls.js';

const sample = (system: SystemName, cell: string, rep: number, o: Partial<Sample> & { cpu?: number; pg?: number } = {}): Sample => ({
  system,
  cell,
  rep,
  windowS: 2,
  drainS: 0,
  messages: 1000,
  deliveries: 4000,
  deliveredPct: 100,
  p50Ms: 2,
  p99Ms: 10,
  cpuS: { servers: o.cpu ?? 0.5, redis: 0.1, postgres: o.pg ?? 0, generator: 1 },
  syscalls: { source: 'perf', total: 20_000, epoll: 3000, writes: 8000, reads: 6000 },
  commits: null,
  errors: 0,
  load1: 1,
  ...o,
});

const cell = (key: string, msgPerS: number, sweep = true, fixed = false): Cell => ({
  key,
  receivers: 4,
  msgPerS,
  deliveriesPerMsg: 4,
  sweep,
  fixed,
});

describe('per-message report math', () => {
  it('derives CPU per message (machine = servers + Redis + Postgres), per delivery, syscalls and msgs/commit', () => {
    const d = derive(sample('parley', '500', 0, { pg: 0.2, commits: { commits: 400, messages: 1000 } }));
    expect(d.usPerMsg).toEqual({ servers: 500, redis: 100, postgres: 200, machine: 800 });
    expect(d.usPerDelivery).toBe(200);
    expect(d.syscallsPerMsg).toBe(20);
    expect(d.wakeupsPerMsg).toBe(3);
    expect(d.msgsPerCommit).toBe(2.5);
    expect(d.msgPerS).toBe(500);
    expect(d.generatorCpuPct).toBe(50);
    expect(d.ok).toBe(true);
    expect(derive(sample('parley', '500', 0, { p99Ms: 101 })).ok).toBe(false);
    expect(derive(sample('parley', '500', 0, { deliveredPct: 94.9 })).ok).toBe(false);
  });

  it('median of odd and even counts, ignoring non-finite values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 5])).toBe(5);
    expect(median([])).toBeNaN();
  });

  it('takes medians over repetitions per cell and system, and judges ok on the medians', () => {
    const t = medianTable([
      sample('parley', '500', 0, { cpu: 0.4, p99Ms: 150 }),
      sample('parley', '500', 1, { cpu: 0.6, p99Ms: 20 }),
      sample('parley', '500', 2, { cpu: 1.0, p99Ms: 30 }),
    ]);
    const d = t['500']?.parley;
    expect(d?.usPerMsg.servers).toBe(600);
    expect(d?.p99Ms).toBe(30);
    expect(d?.ok).toBe(true);
  });

  it('ratios Parley ÷ peer only where both medians passed; saturation from the sweep', () => {
    const cells = [cell('500', 500, true, true), cell('1000', 1000, true, true), cell('2000', 2000)];
    const samples: Sample[] = [];
    for (let rep = 0; rep < 3; rep++) {
      samples.push(sample('parley', '500', rep, { cpu: 0.3, pg: 0.1 }));
      samples.push(sample('socketio-pg', '500', rep, { cpu: 0.5, pg: 0.4, p50Ms: 4 }));
      samples.push(sample('uws-relay', '500', rep, { cpu: 0.1 }));
      samples.push(sample('parley', '1000', rep, { messages: 2000, deliveries: 8000, cpu: 0.5 }));
      samples.push(sample('socketio-pg', '1000', rep, { messages: 2000, deliveries: 8000, p99Ms: 300 }));
      samples.push(sample('uws-relay', '1000', rep, { messages: 2000, deliveries: 8000, cpu: 0.2 }));
      samples.push(sample('parley', '2000', rep, { messages: 4000, deliveries: 16_000, p99Ms: 120 }));
      samples.push(sample('uws-relay', '2000', rep, { messages: 4000, deliveries: 16_000 }));
    }
    const table = medianTable(samples);
    const systems: SystemName[] = ['parley', 'socketio-pg', 'uws-relay'];
    const r = ratios(cells, table, systems);
    // 500: Parley (0.3 + 0.1 + 0.1) / 1000 msgs = 500 µs; Socket.IO+pg (0.5 + 0.1 + 0.4) = 1000 µs; relay 200 µs.
    expect(r.cpuPerMsg['500']).toEqual({ 'socketio-pg': 0.5, 'uws-relay': 2.5 });
    expect(r.postgresPerMsg['500']).toEqual({ 'socketio-pg': 0.25 });
    expect(r.p50['500']).toEqual({ 'socketio-pg': 0.5, 'uws-relay': 1 });
    // 1000: Socket.IO+pg failed its p99 → the ratio is there, marked as no verdict.
    expect(r.bothPassed['1000']).toEqual({ 'socketio-pg': false, 'uws-relay': true });
    expect(r.cpuPerMsg['1000']?.['socketio-pg']).toBeCloseTo((0.5 + 0.1) / (0.5 + 0.1), 10);
    expect(r.cpuPerMsg['1000']?.['uws-relay']).toBeCloseTo((0.5 + 0.1) / (0.2 + 0.1), 10);
    // Saturation: Parley 1000 (failed 2000), Socket.IO+pg 500, relay ≥ 2000 (passed the last step).
    expect(saturationOf(cells, table, 'parley')).toEqual({ msgPerS: 1000, cell: '1000', failsAt: '2000', lowerBound: false });
    expect(saturationOf(cells, table, 'socketio-pg')).toEqual({ msgPerS: 500, cell: '500', failsAt: '1000', lowerBound: false });
    expect(saturationOf(cells, table, 'uws-relay')).toEqual({ msgPerS: 2000, cell: '2000', failsAt: null, lowerBound: true });
    expect(r.saturation).toEqual({ 'socketio-pg': 2, 'uws-relay': 0.5 });
    const labels = { parley: 'Parley', 'socketio-pg': 'SIO+pg', 'uws-relay': 'relay' };
    const md = [...medianRows(cells, table, systems, labels), ...ratioRows(cells, r, systems, labels)].join('\n');
    expect(md).toContain('| 500 | Parley | 500 | 2000 | 100 | 2 | 10 | 500 | 300 | 100 | 100 | 125 | 20 | 3 | — | 50 |');
    expect(md).toContain('| 1000 | SIO+pg | 1000 | 4000 | 100 ✗ |');
    expect(md).toContain('| 500 | 0.5 | 2.5 | 0.5 | 1 |');
    expect(md).toContain('| 1000 | 1 ✗ | 2 |');
    expect(md).toContain('Parley ÷ peer: SIO+pg 2, relay 0.5.');
  });

  it('a fixed load of the sweep topology counts: a system that failed the first sweep step still has a saturation', () => {
    // fanout --per-message: fixed 200 msg/s, sweep 500, 1000 (same receivers); Socket.IO passes 200 only.
    const cells = [cell('r4@200', 200, false, true), cell('r4@500', 500), cell('r4@1000', 1000)];
    const samples: Sample[] = [];
    for (let rep = 0; rep < 3; rep++) {
      samples.push(sample('parley', 'r4@200', rep, { messages: 400, deliveries: 1600 }));
      samples.push(sample('parley', 'r4@500', rep, { messages: 1000, deliveries: 4000 }));
      samples.push(sample('parley', 'r4@1000', rep, { messages: 2000, deliveries: 8000, p99Ms: 200 }));
      samples.push(sample('socketio-lean', 'r4@200', rep, { messages: 400, deliveries: 1600 }));
      samples.push(sample('socketio-lean', 'r4@500', rep, { messages: 1000, deliveries: 4000, p99Ms: 150 }));
    }
    const table = medianTable(samples);
    expect(saturationOf(cells, table, 'socketio-lean')).toEqual({ msgPerS: 200, cell: 'r4@200', failsAt: 'r4@500', lowerBound: false });
    expect(saturationOf(cells, table, 'parley')).toEqual({ msgPerS: 500, cell: 'r4@500', failsAt: 'r4@1000', lowerBound: false });
    expect(ratios(cells, table, ['parley', 'socketio-lean']).saturation).toEqual({ 'socketio-lean': 2.5 });
  });

  it('ratio guards against missing and zero denominators', () => {
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(null, 2)).toBeNull();
    expect(ratio(1, Number.NaN)).toBeNull();
    expect(ratio(3, 2)).toBe(1.5);
  });

  it('fits µs/msg = a + b × receivers: a per message, b per delivery', () => {
    // 300 µs per message + 4 µs per delivery, exactly.
    const f = perMessageFit([100, 20, 4].map((r) => ({ receivers: r, usPerMsg: 300 + 4 * r })));
    expect(f?.perMessageUs).toBeCloseTo(300, 9);
    expect(f?.perDeliveryUs).toBeCloseTo(4, 9);
    expect(perMessageFit([{ receivers: 4, usPerMsg: 10 }])).toBeNull();
  });

  it('parses perf stat -x, output into syscall groups', () => {
    const text = [
      '1611857,,raw_syscalls:sys_enter,2006829605,100.00,,',
      '1200,,syscalls:sys_enter_epoll_wait,2006829605,100.00,,',
      '30,,syscalls:sys_enter_epoll_pwait,2006829605,100.00,,',
      '500,,syscalls:sys_enter_sendto,2006829605,100.00,,',
      '20,,syscalls:sys_enter_writev,2006829605,100.00,,',
      '700,,syscalls:sys_enter_recvfrom,2006829605,100.00,,',
      '<not counted>,,syscalls:sys_enter_read,0,0.00,,',
    ].join('\n');
    expect(parsePerfStat(text)).toEqual({ source: 'perf', total: 1611857, epoll: 1230, writes: 520, reads: 700 });
    expect(parsePerfStat('perf: no permission')).toBeNull();
  });
});
