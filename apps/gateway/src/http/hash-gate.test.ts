import { describe, expect, it } from 'vitest';
import { HashGate, HashGateFull } from './hash-gate.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('HashGate', () => {
  it('runs at most `concurrency` at once, the rest in arrival order; beyond the queue it refuses at once', async () => {
    const gate = new HashGate(2, 2);
    const order: number[] = [];
    const release: (() => void)[] = [];
    const job = (i: number) =>
      gate.run(
        () =>
          new Promise<number>((done) => {
            order.push(i);
            release[i] = () => done(i);
          }),
      );
    const runs = [job(0), job(1), job(2), job(3)];
    await tick();
    expect(order).toEqual([0, 1]);
    expect(gate.load).toEqual({ running: 2, waiting: 2 });
    await expect(job(4)).rejects.toBeInstanceOf(HashGateFull);
    release[1]?.();
    await tick();
    expect(order).toEqual([0, 1, 2]);
    release[0]?.();
    await tick();
    expect(order).toEqual([0, 1, 2, 3]);
    release[2]?.();
    release[3]?.();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it('a failing job frees its slot', async () => {
    const gate = new HashGate(1, 0);
    await expect(gate.run(() => Promise.reject(new Error('argon2 failed')))).rejects.toThrow('argon2 failed');
    expect(await gate.run(async () => 'next')).toBe('next');
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });
});
