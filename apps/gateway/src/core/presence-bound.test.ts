import { describe, expect, it } from 'vitest';
import { boundPresence } from './presence-bound.js';

const people = (n: number) => Array.from({ length: n }, (_, i) => ({ user: `u${i}`, guest: i % 2 === 0 }));

describe('boundPresence', () => {
  it('leaves a list within the cap whole, without a count', () => {
    const list = people(3);
    expect(boundPresence(list, 3)).toEqual({ members: list });
  });

  it('cuts a longer one to the cap with the count of all, the asking user kept', () => {
    expect(boundPresence(people(10), 3)).toEqual({ members: people(3), online: 10 });
    expect(boundPresence(people(10), 3, 'u7')).toEqual({ members: [people(10)[7], ...people(2)], online: 10 });
    expect(boundPresence(people(10), 3, 'u1')).toEqual({ members: people(3), online: 10 });
    expect(boundPresence(people(10), 3, 'nobody')).toEqual({ members: people(3), online: 10 });
  });
});
