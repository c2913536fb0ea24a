import { describe, expect, it } from 'vitest';
import { boundPresence } from './presence-bound.js';

const people = (n: number) => Array.from({ length: n }, (_, i) => ({ user: `u${i}`, guest: i % 2 === 0 }));
const page = (listed: number, online = listed) => ({ members: people(listed), online });

describe('boundPresence', () => {
  it('leaves a whole list within the cap as it is, without a count', () => {
    expect(boundPresence(page(3), 3)).toEqual({ members: people(3) });
    expect(boundPresence(page(3), 3, { user: 'u2', guest: true })).toEqual({ members: people(3) });
  });

  it('a part of the channel: at most the cap, the count of all, the asking user first (listed or not)', () => {
    expect(boundPresence(page(10), 3)).toEqual({ members: people(3), online: 10 });
    expect(boundPresence(page(3, 10), 3)).toEqual({ members: people(3), online: 10 });
    const me = { user: 'u7', guest: false };
    expect(boundPresence(page(3, 10), 3, me)).toEqual({ members: [me, ...people(2)], online: 10 });
    expect(boundPresence(page(3, 10), 3, { user: 'u1', guest: false })).toEqual({
      members: [{ user: 'u1', guest: false }, people(1)[0], people(3)[2]],
      online: 10,
    });
    expect(boundPresence(page(0, 10), 0, me)).toEqual({ members: [], online: 10 });
  });
});
