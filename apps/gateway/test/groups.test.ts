import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Groups } from '../src/core/groups.js';

describe('Groups', () => {
  it('keeps one value bare, grows to a set and shrinks back', () => {
    const g = new Groups<number, { id: string }>();
    const [a, b, c] = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
    expect(g.get(1)).toEqual([]);
    g.add(1, a);
    g.add(1, a); // already there
    expect(g.get(1)).toEqual([a]);
    g.add(1, b);
    g.add(1, c);
    g.add(2, c);
    expect(g.get(1)).toEqual([a, b, c]);
    expect(g.size).toBe(4);
    g.delete(1, b);
    g.delete(1, a);
    expect(g.get(1)).toEqual([c]);
    g.delete(1, a); // not there
    g.delete(3, a); // no such key
    g.delete(1, c);
    expect(g.get(1)).toEqual([]);
    expect(g.values()).toEqual([c]);
    expect(g.size).toBe(1);
  });

  it('get returns a snapshot: changing the groups while iterating it is safe', () => {
    const g = new Groups<number, object>();
    const vs = [{}, {}, {}];
    for (const v of vs) g.add(7, v);
    for (const v of g.get(7)) g.delete(7, v);
    expect(g.get(7)).toEqual([]);
    expect(g.size).toBe(0);
  });

  it('behaves like Map<K, Set<V>> under any sequence of adds and deletes', () => {
    const values = Array.from({ length: 4 }, (_, i) => ({ i }));
    const op = fc.record({ add: fc.boolean(), key: fc.integer({ min: 0, max: 2 }), value: fc.integer({ min: 0, max: 3 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const g = new Groups<number, { i: number }>();
        const model = new Map<number, Set<{ i: number }>>();
        for (const { add, key, value } of ops) {
          const v = values[value] as { i: number };
          const set = model.get(key) ?? new Set();
          if (add) {
            g.add(key, v);
            set.add(v);
          } else {
            g.delete(key, v);
            set.delete(v);
          }
          if (set.size) model.set(key, set);
          else model.delete(key);
        }
        for (const key of [0, 1, 2]) expect(new Set(g.get(key))).toEqual(model.get(key) ?? new Set());
        expect(g.size).toBe([...model.values()].reduce((n, s) => n + s.size, 0));
        expect(new Set(g.values())).toEqual(new Set([...model.values()].flatMap((s) => [...s])));
      }),
    );
  });
});
