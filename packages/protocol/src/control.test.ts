import { describe, expect, it } from 'vitest';
import { type Control, decodeControl, encodeControl } from './control.js';

describe('control messages (node to node)', () => {
  it('round-trip every type', () => {
    const all: Control[] = [
      { t: 'kick', cid: 7, uid: 42 },
      { t: 'changed', cid: 7, uid: 42 },
      { t: 'drop', cid: 0, uid: 42 },
      { t: 'gone', cid: 7, uid: 0 },
      { t: 'left', cid: 7, uid: 42 },
    ];
    for (const c of all) expect(decodeControl(encodeControl(c))).toEqual(c);
  });

  it('a type this node does not know (a newer node sent it) decodes to null, and is ignored', () => {
    expect(decodeControl(new Uint8Array([0x93, 0x63, 0x01, 0x02]))).toBeNull(); // [99, 1, 2]
    expect(decodeControl(new Uint8Array([0xc1]))).toBeNull(); // not msgpack
  });
});
