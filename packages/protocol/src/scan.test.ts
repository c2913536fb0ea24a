import { Decoder, Encoder } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRequest, decodeServer, encodeReply, encodeRequest } from './codec.js';
import { ErrorCode } from './codes.js';
import { T } from './frames.js';
import { MaxDepth, scanMsgpack } from './scan.js';
import { Op } from './types.js';

const FRAME = 16 * 1024; // the gateway's default PARLEY_MAX_PAYLOAD
/** `unit` repeated to fill a 16 KiB frame, after an optional prefix. */
const fill = (unit: number[], prefix: number[] = []): Uint8Array => {
  const out = new Uint8Array(FRAME);
  out.set(prefix);
  for (let at = prefix.length; at + unit.length <= FRAME; at += unit.length) out.set(unit, at);
  return out;
};
const valid = encodeRequest({ op: Op.Message, rid: 9, cid: 3, text: 'hi', cmid: null });
// A valid request's header, then the bomb in its text field: [7, 9, 3, <bomb>].
const inRequest = [0x94, T.req(Op.Message), 9, 3];

/** Hostile frames of 16 KiB (or fewer bytes claiming more): each was a freeze or a huge allocation, or could be. */
const BOMBS: Record<string, Uint8Array> = {
  'array16 of 65,535, nested (the reported bomb)': fill([0xdc, 0xff, 0xff]),
  'array16 bomb inside a valid request header': fill([0xdc, 0xff, 0xff], inRequest),
  'array32 of 2^32 − 1, nested': fill([0xdd, 0xff, 0xff, 0xff, 0xff]),
  'array32 of 16,000, nested (fits a per-header length cap)': fill([0xdd, 0x00, 0x00, 0x3e, 0x80]),
  'map16 of 65,535, nested': fill([0xde, 0xff, 0xff]),
  'map32 of 2^32 − 1, nested': fill([0xdf, 0xff, 0xff, 0xff, 0xff]),
  'fixarray of 1, nested 16,384 deep': fill([0x91]),
  'fixmap of 1, nested': fill([0x81, 0xa1, 0x6b]),
  'array16 with small counts, nested deep': fill([0xdc, 0x00, 0x02]),
  'str32 longer than the frame': Uint8Array.from([0x92, 0x07, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x41]),
  'str16 longer than the frame': Uint8Array.from([...inRequest, 0xda, 0xff, 0xff, 0x41]),
  'bin32 longer than the frame': Uint8Array.from([...inRequest, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00]),
  'ext32 longer than the frame': Uint8Array.from([...inRequest, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01]),
  'ext8 (no ext type is used)': Uint8Array.from([...inRequest, 0xc7, 0x01, 0x05, 0x00]),
  'fixext (a timestamp)': Uint8Array.from([...inRequest, 0xd6, 0xff, 0, 0, 0, 0]),
  'many array16 headers in one flat array': fill([0xdc, 0x00, 0x00], [0xdc, 0x15, 0x55]),
};

/**
 * Runs fn 3 times: the fastest run's time (one GC pause or a busy machine must not fail the test)
 * and the largest growth of the JS heap plus array buffers over one run.
 */
function measure(fn: () => void): { ms: number; growth: number } {
  const mem = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  let ms = Number.POSITIVE_INFINITY;
  let growth = 0;
  for (let i = 0; i < 3; i++) {
    const before = mem();
    const t0 = performance.now();
    fn();
    ms = Math.min(ms, performance.now() - t0);
    growth = Math.max(growth, mem() - before);
  }
  return { ms, growth };
}

describe('decoder bombs are refused cheaply, on both sides of the wire', () => {
  for (const [name, bytes] of Object.entries(BOMBS)) {
    it(`${name}: 100 BadFrame within a few ms, heap growth < 1 MiB`, () => {
      decodeRequest(valid); // warm up the path
      let r: ReturnType<typeof decodeRequest> | undefined;
      const { ms, growth } = measure(() => {
        r = decodeRequest(bytes);
      });
      expect(r).toMatchObject({ ok: false, error: { code: ErrorCode.BadFrame, op: Op.None } });
      // Before the fix the first bomb took ~5 s and 2.7 GiB. Margins for a loaded machine.
      expect(ms).toBeLessThan(25);
      expect(growth).toBeLessThan(1024 * 1024);

      let s: ReturnType<typeof decodeServer> | undefined;
      const server = measure(() => {
        s = decodeServer(bytes);
      });
      expect(s?.ok).toBe(false);
      expect(server.ms).toBeLessThan(25);
      expect(server.growth).toBeLessThan(1024 * 1024);
      // The same bytes after the batch byte: the SDK's batch path is bounded too.
      const batch = new Uint8Array(bytes.length + 1);
      batch[0] = T.event(Op.Batch);
      batch.set(bytes, 1);
      expect(decodeServer(batch).ok).toBe(false);
    });
  }

  it('three bombs in a row do not add up to a stall (the report: 14 s)', () => {
    const { ms } = measure(() => {
      for (let i = 0; i < 3; i++) decodeRequest(BOMBS['array16 of 65,535, nested (the reported bomb)'] as Uint8Array);
    });
    expect(ms).toBeLessThan(50);
  });

  it('after a bomb, the next frame decodes normally', () => {
    decodeRequest(BOMBS['array16 of 65,535, nested (the reported bomb)'] as Uint8Array);
    expect(decodeRequest(valid)).toEqual({ ok: true, value: { op: Op.Message, rid: 9, cid: 3, text: 'hi', cmid: null } });
  });
});

describe('nesting limits follow the protocol’s shapes', () => {
  const pack = new Encoder();
  const nest = (depth: number): unknown => (depth === 0 ? 'x' : [nest(depth - 1)]);

  it('a request nested within the limit is still read far enough to name the bad field (102)', () => {
    const bytes = pack.encode([T.req(Op.Message), 4, 3, nest(MaxDepth.request - 1)]);
    expect(decodeRequest(bytes)).toMatchObject({ ok: false, error: { code: ErrorCode.InvalidFields, rid: 4 } });
  });

  it('one level deeper is a bad frame (100)', () => {
    const bytes = pack.encode([T.req(Op.Message), 4, 3, nest(MaxDepth.request)]);
    expect(decodeRequest(bytes)).toMatchObject({ ok: false, error: { code: ErrorCode.BadFrame } });
  });

  it('the deepest real server frame (a History page with reactions) is within the server limit', () => {
    const bytes = encodeReply({
      op: Op.History,
      rid: 1,
      cid: 2,
      messages: [{ cid: 2, seq: 1, user: 'a', text: 't', ts: 5, reactions: [{ emoji: '👍', users: ['b'] }] }],
      more: false,
    });
    expect(scanMsgpack(bytes, 0, MaxDepth.server, false)).toBeNull();
    expect(scanMsgpack(bytes, 0, 5, false)).toBe('nested too deep'); // its depth is 6
    expect(decodeServer(bytes).ok).toBe(true);
  });
});

describe('scanMsgpack agrees with the Decoder on what is well-formed', () => {
  const decoder = new Decoder();
  const pack = new Encoder();
  const depthOf = (v: unknown): number =>
    Array.isArray(v)
      ? 1 + Math.max(0, ...v.map(depthOf))
      : v !== null && typeof v === 'object' && !(v instanceof Uint8Array)
        ? 1 + Math.max(0, ...Object.values(v).map(depthOf))
        : 0;
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double(),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.array(tie('value'), { maxLength: 20 }),
      fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 }),
    ),
  }));

  it('every msgpack value without ext, within the depth, passes; deeper ones do not', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = pack.encode(v);
        expect(scanMsgpack(bytes, 0, MaxDepth.server, false) === null).toBe(depthOf(v) <= MaxDepth.server);
        expect(scanMsgpack(bytes, 0, 2, false) === null).toBe(depthOf(v) <= 2);
      }),
      { numRuns: 3000 },
    );
  });

  it('on random bytes: what the scan passes, the Decoder decodes whole; what the Decoder reads whole within the depth, the scan passes', () => {
    const plain = (b: Uint8Array): { ok: true; v: unknown } | { ok: false } => {
      try {
        return { ok: true, v: decoder.decode(b) };
      } catch {
        return { ok: false };
      }
    };
    const usesExt = (b: Uint8Array) => b.some((x) => (x >= 0xc7 && x <= 0xc9) || (x >= 0xd4 && x <= 0xd8));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const scan = scanMsgpack(bytes, 0, MaxDepth.server, false);
        const dec = plain(bytes);
        // Map keys the Decoder refuses (not strings or numbers) are its call, not a size question.
        if (scan === null && !dec.ok) {
          expect(() => decoder.decode(bytes)).toThrow(/key/);
        }
        if (dec.ok && depthOf(dec.v) <= MaxDepth.server && !usesExt(bytes)) expect(scan).toBeNull();
      }),
      { numRuns: 20_000 },
    );
  });
});
