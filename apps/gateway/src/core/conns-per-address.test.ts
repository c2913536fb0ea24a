import { describe, expect, it } from 'vitest';
import { ConnsPerAddress } from './conns-per-address.js';

describe('ConnsPerAddress', () => {
  it('admits max per address, counts each address apart, and forgets an address at zero', () => {
    const c = new ConnsPerAddress(2);
    expect(c.open('a')).toBe(true);
    expect(c.open('a')).toBe(true);
    expect(c.open('a')).toBe(false); // refused: not counted
    expect(c.open('b')).toBe(true);
    expect(c.of('a')).toBe(2);
    c.close('a');
    expect(c.open('a')).toBe(true);
    c.close('a');
    c.close('a');
    c.close('b');
    expect(c.size).toBe(0);
    c.close('a'); // a stray close never goes below zero
    expect(c.of('a')).toBe(0);
    expect(c.size).toBe(0);
  });

  it('0 is no limit; an empty address (not counted) is always admitted', () => {
    const open = new ConnsPerAddress(0);
    for (let i = 0; i < 10_000; i++) expect(open.open('a')).toBe(true);
    const capped = new ConnsPerAddress(1);
    expect(capped.open('')).toBe(true);
    expect(capped.open('')).toBe(true);
    expect(capped.size).toBe(0);
  });
});
