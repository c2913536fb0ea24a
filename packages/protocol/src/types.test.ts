import { describe, expect, it } from 'vitest';
import { decodeServer, encodeError, encodeEvent, encodeReply, encodeRequest } from './codec.js';
import { T } from './frames.js';
import { frameType, KIND_SHIFT, Kind, kindOf, OP_MASK, Op, opOf } from './types.js';

const kinds = Object.values(Kind);
const ops = Object.values(Op);

describe('frame type bit layout: kk ooooo in one positive fixint', () => {
  it('kind takes bits 6–5 and op bits 4–0', () => {
    expect(KIND_SHIFT).toBe(5);
    expect(OP_MASK).toBe(0b1_1111);
    expect(frameType(Kind.Request, Op.Join)).toBe(0b00_00011);
    expect(frameType(Kind.Reply, Op.Join)).toBe(0b01_00011);
    expect(frameType(Kind.Event, Op.Message)).toBe(0b10_00111);
    expect(frameType(Kind.Error, Op.None)).toBe(0b11_00000);
    expect(T.event(Op.Batch)).toBe(0x51);
  });

  it('every op fits in 5 bits and ops are unique', () => {
    for (const op of ops) {
      expect(Number.isInteger(op) && op >= 0 && op <= OP_MASK).toBe(true);
    }
    expect(new Set(ops).size).toBe(ops.length);
  });

  it('every kind × op type is 0–127 (a positive fixint, one byte) and kindOf/opOf invert frameType', () => {
    const seen = new Set<number>();
    for (const kind of kinds) {
      for (const op of ops) {
        const type = frameType(kind, op);
        expect(type).toBeGreaterThanOrEqual(0);
        expect(type).toBeLessThanOrEqual(127);
        expect(kindOf(type)).toBe(kind);
        expect(opOf(type)).toBe(op);
        seen.add(type);
      }
    }
    expect(seen.size).toBe(kinds.length * ops.length);
    // The whole 7-bit space decomposes and recomposes.
    for (let type = 0; type < 128; type++) expect(frameType(kindOf(type), opOf(type))).toBe(type);
  });

  it('T.req/reply/event/error share the op and differ only in kind', () => {
    for (const op of ops) {
      expect([T.req(op), T.reply(op), T.event(op), T.error(op)].map(kindOf)).toEqual([Kind.Request, Kind.Reply, Kind.Event, Kind.Error]);
      expect(new Set([T.req(op), T.reply(op), T.event(op), T.error(op)].map(opOf))).toEqual(new Set([op]));
    }
  });

  it('on the wire the type is ONE byte, right after the fixarray header', () => {
    const frames: [Uint8Array, number][] = [
      [encodeRequest({ op: Op.List, rid: 1 }), T.req(Op.List)],
      [encodeRequest({ op: Op.Typing, rid: 0, cid: 3 }), T.req(Op.Typing)],
      [encodeRequest({ op: Op.Message, rid: 9, cid: 3, text: 'hi', cmid: 'c1' }), T.req(Op.Message)],
      [encodeReply({ op: Op.Message, rid: 9, seq: 48213, ts: 1764092798123 }), T.reply(Op.Message)],
      [encodeEvent({ op: Op.Typing, cid: 3, users: ['alice'] }), T.event(Op.Typing)],
      [encodeEvent({ op: Op.Reconnect, delayMs: 1500 }), T.event(Op.Reconnect)],
      [encodeError({ op: Op.None, rid: 0, code: 100, message: 'x' }), T.error(Op.None)],
    ];
    for (const [bytes, type] of frames) {
      expect((bytes[0] ?? 0) & 0xf0).toBe(0x90); // fixarray (≤ 15 fields)
      expect(bytes[1]).toBe(type); // positive fixint: the value is the byte
      expect((bytes[1] ?? 0xff) & 0x80).toBe(0);
    }
  });

  it('the batch byte (0x51) cannot start a single frame, which always starts with an array header', () => {
    const batch = T.event(Op.Batch);
    expect(batch >= 0x90 && batch <= 0x9f).toBe(false); // fixarray
    expect([0xdc, 0xdd]).not.toContain(batch); // array16 / array32
    // A lone 0x51 is an empty batch, not a frame.
    expect(decodeServer(Uint8Array.of(batch))).toEqual({ ok: true, value: [] });
  });
});
