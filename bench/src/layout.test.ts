import { describe, expect, it } from 'vitest';
import { layoutOf } from './fanout-drivers.js';

describe('bench topology layout', () => {
  const base = { redisUrl: 'redis://unused', publishersPerRoom: 2 };
  for (const layout of ['members', 'fanout'] as const) {
    it(`${layout}: consecutive publishers are on different nodes; every room is on both`, () => {
      const specs = layoutOf({ ...base, rooms: 7, receiversPerRoom: 4, layout }, 2);
      const pubs = specs.filter((s) => s.publishes);
      // A round-robin over the publishers alternates the nodes (each node a steady half of the load).
      for (let p = 1; p < pubs.length; p++) expect(pubs[p]?.node).not.toBe(pubs[p - 1]?.node);
      // Publish index p walks the rooms first.
      expect(pubs.map((s) => s.room)).toEqual(pubs.map((_, p) => p % 7));
      for (let r = 0; r < 7; r++) {
        const inRoom = specs.filter((s) => s.room === r && s.publishes);
        expect(new Set(inRoom.map((s) => s.node))).toEqual(new Set([0, 1]));
        if (layout === 'members') expect(inRoom.filter((s) => s.node === 0)).toHaveLength(2);
      }
    });
  }
});
