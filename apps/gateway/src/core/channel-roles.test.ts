import { Role } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { ChannelRoles } from './channel-roles.js';

describe('ChannelRoles', () => {
  it('keeps one role per channel, like a Map', () => {
    const r = new ChannelRoles();
    expect(r.has(7)).toBe(false);
    expect(r.get(7)).toBeUndefined();
    r.set(7, Role.Member);
    r.set(9, Role.Guest);
    r.set(7, Role.Moderator);
    expect(r.size).toBe(2);
    expect(r.get(7)).toBe(Role.Moderator);
    expect(r.get(9)).toBe(Role.Guest);
    expect(r.cids()).toEqual([7, 9]);
    expect(r.delete(7)).toBe(true);
    expect(r.delete(7)).toBe(false);
    expect(r.has(7)).toBe(false);
    expect(r.get(9)).toBe(Role.Guest);
    expect(r.cids()).toEqual([9]);
  });

  it('hands out snapshots: leaving every channel while iterating them sees each once', () => {
    const r = new ChannelRoles();
    for (const cid of [1, 2, 3]) r.set(cid, Role.Member);
    const seen: number[] = [];
    for (const cid of r.cids()) {
      seen.push(cid);
      r.delete(cid);
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(r.size).toBe(0);
  });

  it('does not confuse a role with a channel id', () => {
    const r = new ChannelRoles();
    r.set(1, Role.Owner); // Owner = 3
    r.set(3, Role.Guest);
    expect(r.get(3)).toBe(Role.Guest);
    expect(r.get(1)).toBe(Role.Owner);
  });
});
