import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AllowanceKind, AllowanceStore } from '../../src/ports/allowances.js';

/** One allowance backend as several nodes see it (each its own connection, where it has them). */
export interface AllowanceBackend {
  store(): Promise<AllowanceStore>;
  close(): Promise<void>;
}
export type AllowanceFactory = () => Promise<AllowanceBackend>;

const key = (base: string) => `${base}-${randomBytes(4).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The AllowanceStore contract (ports/allowances.ts), run against any adapter. */
export function describeAllowanceStoreContract(name: string, factory: AllowanceFactory): void {
  describe(`AllowanceStore contract: ${name}`, () => {
    let backend: AllowanceBackend;
    let a: AllowanceStore;
    let b: AllowanceStore;
    beforeEach(async () => {
      backend = await factory();
      [a, b] = [await backend.store(), await backend.store()];
    });
    afterEach(async () => {
      await backend?.close();
    });

    const hour: AllowanceKind = { name: key('k'), burst: 3, windowMs: 3_600_000 };

    it('gives burst attempts, then says how long until the next; nothing is taken by a refusal', async () => {
      const k = key('addr');
      for (let i = 0; i < 3; i++) expect(await a.take(hour, k)).toBe(0);
      const wait = await a.take(hour, k);
      // One attempt refills in windowMs / burst = 20 min.
      expect(wait).toBeGreaterThan(19 * 60_000);
      expect(wait).toBeLessThanOrEqual(20 * 60_000);
      expect(await a.take(hour, k)).toBeGreaterThan(19 * 60_000); // still refused: the refusal took nothing
      await a.give(hour, k);
      expect(await a.take(hour, k)).toBe(0);
      expect(await a.take(hour, k)).toBeGreaterThan(0);
    });

    it('is one allowance for every node that shares the store', async () => {
      const k = key('addr');
      expect(await a.take(hour, k)).toBe(0);
      expect(await b.take(hour, k)).toBe(0);
      expect(await a.take(hour, k)).toBe(0);
      expect(await b.take(hour, k)).toBeGreaterThan(0);
      await b.give(hour, k);
      expect(await a.take(hour, k)).toBe(0);
    });

    it('takes atomically: of many parallel attempts from many nodes, exactly burst pass', async () => {
      const k = key('addr');
      const kind: AllowanceKind = { name: key('k'), burst: 7, windowMs: 3_600_000 };
      const waits = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).take(kind, k)));
      expect(waits.filter((w) => w === 0)).toHaveLength(7);
    });

    it('keeps keys and kinds apart, and never gives back above burst', async () => {
      const [k1, k2] = [key('addr'), key('addr')];
      const other: AllowanceKind = { ...hour, name: key('k') };
      for (let i = 0; i < 5; i++) await a.give(hour, k1); // a full allowance stays full
      for (let i = 0; i < 3; i++) expect(await a.take(hour, k1)).toBe(0);
      expect(await a.take(hour, k1)).toBeGreaterThan(0);
      expect(await a.take(hour, k2)).toBe(0);
      expect(await a.take(other, k1)).toBe(0);
    });

    it('refills evenly over the window', async () => {
      const k = key('addr');
      const fast: AllowanceKind = { name: key('k'), burst: 2, windowMs: 400 }; // one attempt per 200 ms
      expect(await a.take(fast, k)).toBe(0);
      expect(await a.take(fast, k)).toBe(0);
      const wait = await b.take(fast, k);
      expect(wait).toBeGreaterThan(100);
      expect(wait).toBeLessThanOrEqual(200);
      await sleep(wait + 20);
      expect(await b.take(fast, k)).toBe(0);
      expect(await a.take(fast, k)).toBeGreaterThan(0);
      await sleep(450); // full again
      expect(await a.take(fast, k)).toBe(0);
      expect(await b.take(fast, k)).toBe(0);
      expect(await a.take(fast, k)).toBeGreaterThan(0);
    });
  });
}
