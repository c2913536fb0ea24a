import { Encoder } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DecodeError,
  decodeRequest,
  decodeRequestGeneric,
  decodeServer,
  decodeServerGeneric,
  encodeBatch,
  encodeError,
  encodeEvent,
  encodeReply,
  encodeRequest,
  fastMessage,
} from './codec.js';
import { ErrorCode } from './codes.js';
import type { ChatMessage, ErrorFrame, Event, Reply, Request, ServerFrame } from './frames.js';
import { T } from './frames.js';
import { readHotServerFrames } from './hot-frames.js';
import { requestSchemas } from './schemas.js';
import { Kind, Limits, ModAction, Op, Role } from './types.js';

// ---------- arbitraries (respecting the zod limits in schemas.ts) ----------

/** Integers beyond fc.integer's 32-bit range, edge-biased through bigInt. */
const int = (min: number, max: number) => fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number);
const MAX = Number.MAX_SAFE_INTEGER;
const rid = int(0, 0xffff_ffff);
const cid = int(1, MAX);
const seq = int(1, MAX);
const nat = int(0, MAX);
const ts = fc.oneof(int(1_600_000_000_000, 2_000_000_000_000), nat);

/**
 * A string of 1..max UTF-16 code units (zod counts `.length`). Full-Unicode strings (astral
 * characters take two units) up to max/2 code points, plus ASCII strings up to max so the
 * boundary length itself is exercised.
 */
const rawStr = (max: number, min = 1) =>
  fc.oneof(
    fc.string({ unit: 'binary', minLength: min, maxLength: Math.max(min, Math.floor(max / 2)) }),
    fc.string({ unit: 'binary-ascii', minLength: min, maxLength: max }),
    fc.string({ unit: 'binary-ascii', minLength: max, maxLength: max }),
  );
/** Characters text.ts refuses (in names; text allows TAB and LF), replaced by one of the same length. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point.
const REFUSED = /[\0-\x1f\x7f-\x9f\ufffe\uffff]/g;
/** Valid request text or names (text.ts): control characters replaced, so lengths stay as drawn. */
const str = (max: number, min = 1) => rawStr(max, min).map((s) => s.replace(REFUSED, '_'));
/** Any UTF-16 code units, lone surrogates included (what a hostile client can put on the wire). */
const units = (max: number) => fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: max }).map((a) => String.fromCharCode(...a));
/** Strings around every rule of text.ts, valid and not. */
const edgy = fc.constantFrom(
  '\0',
  'bad\u0000reason',
  '\ud800',
  'x\udc00',
  '\ud83d\ude00',
  'a\r\nb',
  '\r',
  '\x7f',
  '\u0085',
  '\u009f',
  '\u00a0',
  '\ufffe',
  '\uffff',
  '\ufffd',
  'line one\nline two\ttabbed',
  '👨‍👩‍👧',
  '❤️',
);
/** A leading BOM on strings either side of 200 bytes, where @msgpack/msgpack switches decoders. */
const bomText = fc.integer({ min: 0, max: 260 }).map((n) => `\ufeff${'x'.repeat(n)}`);
/** Server-side strings have no request limit; any well-formed Unicode string, empty included. */
const anyStr = fc.string({ unit: 'binary', maxLength: 40 });
const userName = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_]{1,24}$/), anyStr);
const channelName = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,63}$/);
const emoji = fc.oneof(fc.constantFrom('👍', '❤️', '🎉', '👨‍👩‍👧', '+1'), str(Limits.emoji));
const text = fc.oneof(str(Limits.text), fc.constantFrom('line one\nline two\ttabbed', '\t', '\n\n'));

const requestArb: fc.Arbitrary<Request> = fc.oneof(
  fc.record({ op: fc.constant(Op.Create), rid, name: channelName }),
  fc.record({ op: fc.constant(Op.Join), rid, name: channelName }),
  fc.record({ op: fc.constant(Op.Leave), rid, cid }),
  fc.record({
    op: fc.constant(Op.List),
    rid,
    after: fc.option(channelName, { nil: null }),
    limit: fc.integer({ min: 1, max: Limits.listPage }),
    prefix: fc.option(channelName, { nil: null }),
  }),
  fc.record({
    op: fc.constant(Op.Members),
    rid,
    cid,
    after: fc.option(fc.stringMatching(/^[A-Za-z0-9_]{2,32}$/), { nil: null }),
    limit: fc.integer({ min: 1, max: Limits.membersPage }),
  }),
  fc.record({
    op: fc.constant(Op.Message),
    rid,
    cid,
    text,
    cmid: fc.option(str(Limits.clientMsgId), { nil: null }),
  }),
  fc.record({
    op: fc.constant(Op.History),
    rid,
    cid,
    before: fc.option(seq, { nil: null }),
    after: fc.option(seq, { nil: null }),
    limit: fc.integer({ min: 1, max: Limits.historyPage }),
  }),
  fc.record({ op: fc.constant(Op.Typing), rid, cid }),
  fc.record({ op: fc.constant(Op.React), rid, cid, seq, emoji }),
  fc.record({ op: fc.constant(Op.Unreact), rid, cid, seq, emoji }),
  fc.record({ op: fc.constant(Op.Command), rid, cid, text: str(Limits.command) }),
);

const presence = fc.record({ user: userName, guest: fc.boolean() });
/** Reactions travel only when there are some: an empty list is sent as "no reactions" (tested below). */
/** `count` only when more reacted than the names listed (a History page lists at most Limits.reactionNames). */
const reaction = fc
  .record({
    emoji,
    users: fc.array(userName, { maxLength: 5 }),
    hidden: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }),
  })
  .map(({ hidden, ...r }) => (hidden === undefined ? r : { ...r, count: r.users.length + hidden }));
const reactions = fc.array(reaction, { minLength: 1, maxLength: 4 });
const message = (cidArb: fc.Arbitrary<number>): fc.Arbitrary<ChatMessage> =>
  fc
    .record({ cid: cidArb, seq, user: userName, text, ts, reactions: fc.option(reactions, { nil: undefined }) })
    .map(({ reactions: r, ...m }) => (r ? { ...m, reactions: r } : m));

const eventArb: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ op: fc.constant(Op.Hello), user: userName, guest: fc.boolean(), node: anyStr, heartbeatMs: nat }),
  message(cid).map((m) => ({ op: Op.Message, ...m })),
  fc.record({ op: fc.constant(Op.Typing), cid, users: fc.array(userName, { maxLength: 5 }) }),
  fc.record({ op: fc.constant(Op.Reaction), cid, seq, emoji, user: userName, on: fc.boolean() }),
  fc
    .record({
      op: fc.constant(Op.PresenceState),
      cid,
      members: fc.array(presence, { maxLength: 8 }),
      more: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: undefined }),
    })
    .map(({ more, ...e }) => (more === undefined ? e : { ...e, online: e.members.length + 1 + more })),
  fc.record({
    op: fc.constant(Op.PresenceDiff),
    cid,
    joins: fc.array(presence, { maxLength: 5 }),
    leaves: fc.array(userName, { maxLength: 5 }),
  }),
  fc.record({
    op: fc.constant(Op.Moderation),
    cid,
    action: fc.constantFrom(...Object.values(ModAction)),
    target: userName,
    actor: userName,
    until: fc.option(ts, { nil: null }),
    reason: fc.option(anyStr, { nil: null }),
  }),
  fc.record({ op: fc.constant(Op.Reconnect), delayMs: nat }),
);

const replyArb: fc.Arbitrary<Reply> = fc.oneof(
  fc.record({ op: fc.constant(Op.Create), rid, cid, name: channelName }),
  fc
    .record({
      op: fc.constant(Op.Join),
      rid,
      cid,
      name: channelName,
      lastSeq: nat,
      members: fc.array(presence, { maxLength: 8 }),
      online: fc.option(fc.integer({ min: 9, max: 1_000_000 }), { nil: undefined }),
    })
    .map(({ online, ...r }) => (online === undefined ? r : { ...r, online })),
  fc.record({ op: fc.constantFrom(Op.Leave, Op.React, Op.Unreact), rid }) as fc.Arbitrary<Reply>,
  fc.record({
    op: fc.constant(Op.List),
    rid,
    channels: fc.array(fc.record({ cid, name: channelName, members: nat }), { maxLength: 6 }),
    more: fc.boolean(),
  }),
  fc.record({
    op: fc.constant(Op.Members),
    rid,
    members: fc.array(fc.record({ user: userName, role: fc.constantFrom(...Object.values(Role)), online: fc.boolean() }), { maxLength: 8 }),
    more: fc.boolean(),
    total: nat,
  }),
  fc.record({ op: fc.constant(Op.Message), rid, seq, ts }),
  // History messages carry the page's cid (it is sent once per page, not per message).
  cid.chain((c) =>
    fc.record({
      op: fc.constant(Op.History),
      rid,
      cid: fc.constant(c),
      messages: fc.array(message(fc.constant(c)), { maxLength: 5 }),
      more: fc.boolean(),
    }),
  ),
  fc.record({ op: fc.constant(Op.Command), rid, text: anyStr }),
);

const errorArb: fc.Arbitrary<ErrorFrame> = fc
  .record({
    op: fc.constantFrom(...Object.values(Op).filter((o) => o !== Op.Batch)),
    rid,
    code: fc.oneof(fc.constantFrom(...Object.values(ErrorCode)), int(100, 599)),
    message: anyStr,
    retryAfterMs: fc.option(nat, { nil: undefined }),
  })
  .map(({ retryAfterMs, ...e }) => (retryAfterMs === undefined ? e : { ...e, retryAfterMs }));

/** Any server frame, with its bytes and the frame decodeServer must give back. */
const serverFrameArb: fc.Arbitrary<{ bytes: Uint8Array; frame: ServerFrame }> = fc.oneof(
  eventArb.map((e) => ({ bytes: encodeEvent(e), frame: { kind: Kind.Event, ...e } as ServerFrame })),
  replyArb.map((r) => ({ bytes: encodeReply(r), frame: { kind: Kind.Reply, ...r } as ServerFrame })),
  errorArb.map((e) => ({ bytes: encodeError(e), frame: { kind: Kind.Error, ...e } as ServerFrame })),
);

/** Values msgpack can carry, nested. */
const { msgpackValue } = fc.letrec((tie) => ({
  msgpackValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    int(-MAX, MAX),
    fc.double(),
    fc.string({ unit: 'binary', maxLength: 70 }),
    fc.uint8Array({ maxLength: 16 }),
    fc.array(tie('msgpackValue'), { maxLength: 7 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('msgpackValue'), { maxKeys: 4 }),
  ),
}));
const packAny = new Encoder();
/** The array with its non-negative safe integers as uint64 (0xcf): wider than the Encoder's shortest form. */
const wide = (raw: unknown[]): Uint8Array => {
  const parts = raw.map((v) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return packAny.encode(v);
    const b = new Uint8Array(9);
    b[0] = 0xcf;
    new DataView(b.buffer).setBigUint64(1, BigInt(v));
    return b;
  });
  return Uint8Array.from([0x90 | raw.length, ...parts.flatMap((p) => [...p])]);
};
/** The bytes as drawn, or with one byte changed, truncated, padded, or with junk spliced in. */
const mutationsOf = (bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    bytes,
    fc.tuple(bytes, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([f, i, v]) => {
      const g = Uint8Array.from(f);
      if (g.length) g[i % g.length] = v;
      return g;
    }),
    fc.tuple(bytes, fc.nat()).map(([f, n]) => f.subarray(0, n % (f.length + 1))),
    fc.tuple(bytes, fc.uint8Array({ minLength: 1, maxLength: 3 })).map(([f, tail]) => Uint8Array.from([...f, ...tail])),
    fc.tuple(bytes, fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.nat()).map(([f, junk, i]) => {
      const at = f.length ? i % f.length : 0;
      return Uint8Array.from([...f.subarray(0, at), ...junk, ...f.subarray(at)]);
    }),
  );
const requestTypes = Object.values(Op).map((op) => T.req(op));

const expectProtocolError = (error: DecodeError) => {
  expect(error.code).toBeGreaterThanOrEqual(100);
  expect(error.code).toBeLessThanOrEqual(199);
  expect(typeof error.message).toBe('string');
  expect(Number.isInteger(error.rid) && error.rid >= 0).toBe(true);
};

/** decodeRequest never throws; a refusal has a 1xx code; an acceptance is a valid request that re-encodes to itself. */
const checkRequestDecode = (bytes: Uint8Array) => {
  const r = decodeRequest(bytes);
  if (r.ok) {
    expect(decodeRequest(encodeRequest(r.value))).toEqual(r);
  } else {
    expectProtocolError(r.error);
  }
};
const checkServerDecode = (bytes: Uint8Array) => {
  const r = decodeServer(bytes);
  expect(typeof r.ok).toBe('boolean');
  if (!r.ok) expect(typeof r.error).toBe('string');
};

// ---------- round trips ----------
// Property runs take a few seconds on an idle machine; the timeouts leave room for a loaded one.

describe('round trips', { timeout: 60_000 }, () => {
  it('every Request variant: encodeRequest → decodeRequest', () => {
    fc.assert(
      fc.property(requestArb, (req) => {
        expect(decodeRequest(encodeRequest(req))).toEqual({ ok: true, value: req });
      }),
      { numRuns: 1000 },
    );
  });

  it('every Event variant: encodeEvent → decodeServer', () => {
    fc.assert(
      fc.property(eventArb, (e) => {
        expect(decodeServer(encodeEvent(e))).toEqual({ ok: true, value: [{ kind: Kind.Event, ...e }] });
      }),
      { numRuns: 1000 },
    );
  });

  it('every Reply variant: encodeReply → decodeServer', () => {
    fc.assert(
      fc.property(replyArb, (r) => {
        expect(decodeServer(encodeReply(r))).toEqual({ ok: true, value: [{ kind: Kind.Reply, ...r }] });
      }),
      { numRuns: 1000 },
    );
  });

  it('error frames: encodeError → decodeServer', () => {
    fc.assert(
      fc.property(errorArb, (e) => {
        expect(decodeServer(encodeError(e))).toEqual({ ok: true, value: [{ kind: Kind.Error, ...e }] });
      }),
      { numRuns: 500 },
    );
  });

  it('encodeBatch of N frames → decodeServer gives the N frames in order', () => {
    fc.assert(
      fc.property(fc.array(serverFrameArb, { maxLength: 20 }), (items) => {
        const batch = encodeBatch(items.map((i) => i.bytes));
        expect(decodeServer(batch)).toEqual({ ok: true, value: items.map((i) => i.frame) });
      }),
      { numRuns: 300 },
    );
  });

  it('batches merge flat: encodeBatch of batches and frames = one batch of all their frames, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.array(serverFrameArb, { minLength: 1, maxLength: 5 }), { minLength: 2, maxLength: 5 }), (groups) => {
        const merged = encodeBatch(groups.map((g) => encodeBatch(g.map((i) => i.bytes))));
        const all = groups.flat();
        expect(merged).toEqual(encodeBatch(all.map((i) => i.bytes)));
        expect(decodeServer(merged)).toEqual({ ok: true, value: all.map((i) => i.frame) });
      }),
      { numRuns: 200 },
    );
  });

  it('a batch adds exactly one byte, whatever N (N ≥ 2), and one frame is sent as itself', () => {
    fc.assert(
      fc.property(fc.array(serverFrameArb, { minLength: 1, maxLength: 20 }), (items) => {
        const frames = items.map((i) => i.bytes);
        const total = frames.reduce((n, f) => n + f.byteLength, 0);
        const batch = encodeBatch(frames);
        if (frames.length === 1) expect(batch).toBe(frames[0]);
        else {
          expect(batch.byteLength).toBe(total + 1);
          expect(batch[0]).toBe(T.event(Op.Batch));
        }
      }),
    );
  });

  it('a chat message with an empty reaction list is sent without one (normalised to absent)', () => {
    const m = { op: Op.Message, cid: 1, seq: 1, user: 'a', text: 'hi', ts: 1, reactions: [] } as const;
    const bytes = encodeEvent({ ...m, reactions: [] });
    const { reactions: _, ...withoutReactions } = m;
    expect(bytes).toEqual(encodeEvent(withoutReactions));
    expect(decodeServer(bytes)).toEqual({ ok: true, value: [{ kind: Kind.Event, ...withoutReactions }] });
  });

  it('a message request without a client message id is one field shorter, and decodes cmid as null', () => {
    const withNull = encodeRequest({ op: Op.Message, rid: 1, cid: 1, text: 'x', cmid: null });
    const withId = encodeRequest({ op: Op.Message, rid: 1, cid: 1, text: 'x', cmid: 'c1' });
    expect(withId.byteLength - withNull.byteLength).toBe(3);
    const r = decodeRequest(withNull);
    expect(r.ok && r.value.op === Op.Message && r.value.cmid).toBe(null);
  });
});

// ---------- hostile input ----------

describe('hostile input never throws', { timeout: 60_000 }, () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        checkRequestDecode(bytes);
        checkServerDecode(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes after a request type byte in a fixarray header, and after the batch byte', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x90, max: 0x9f }),
        fc.constantFrom(...requestTypes),
        fc.uint8Array({ maxLength: 60 }),
        (header, type, tail) => {
          checkRequestDecode(Uint8Array.from([header, type, ...tail]));
          checkServerDecode(Uint8Array.from([T.event(Op.Batch), header, type, ...tail]));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('random msgpack values', () => {
    fc.assert(
      fc.property(msgpackValue, (v) => {
        const bytes = packAny.encode(v);
        checkRequestDecode(bytes);
        checkServerDecode(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('random arrays that start with a real frame type (any kind)', () => {
    const anyType = fc.constantFrom(
      ...[Kind.Request, Kind.Reply, Kind.Event, Kind.Error].flatMap((k) => Object.values(Op).map((op) => (k << 5) | op)),
    );
    fc.assert(
      fc.property(anyType, fc.array(msgpackValue, { maxLength: 7 }), (type, rest) => {
        const bytes = packAny.encode([type, ...rest]);
        checkRequestDecode(bytes);
        checkServerDecode(bytes);
        checkServerDecode(encodeBatch([bytes, bytes]));
      }),
      { numRuns: 3000 },
    );
  });

  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  );
  type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;
  const mutate = (src: Uint8Array, ms: Mutation[]): Uint8Array => {
    let b = Array.from(src);
    for (const m of ms) {
      const at = 'at' in m ? m.at % (b.length + 1) : 0;
      if (m.kind === 'flip' && b.length > 0) b[at % b.length] = m.value;
      else if (m.kind === 'truncate') b = b.slice(0, at);
      else if (m.kind === 'insert') b.splice(at, 0, m.value);
      else if (m.kind === 'delete') b.splice(at, 1);
      else if (m.kind === 'append') b.push(...m.bytes);
    }
    return Uint8Array.from(b);
  };

  it('mutated valid request frames', () => {
    fc.assert(
      fc.property(requestArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (req, ms) => {
        const bytes = mutate(encodeRequest(req), ms);
        checkRequestDecode(bytes);
        checkServerDecode(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid server frames and batches', () => {
    fc.assert(
      fc.property(
        fc.array(serverFrameArb, { minLength: 1, maxLength: 4 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (items, ms) => {
          const bytes = mutate(encodeBatch(items.map((i) => i.bytes)), ms);
          checkServerDecode(bytes);
          checkRequestDecode(bytes);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the shared decoder still works after garbage', () => {
    expect(decodeRequest(Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff])).ok).toBe(false);
    expect(decodeServer(Uint8Array.from([T.event(Op.Batch), 0x93, 0x47, 0x01])).ok).toBe(false);
    const req: Request = { op: Op.Typing, rid: 0, cid: 7 };
    expect(decodeRequest(encodeRequest(req))).toEqual({ ok: true, value: req });
  });

  it('empty input', () => {
    expect(decodeRequest(new Uint8Array(0))).toMatchObject({ ok: false, error: { code: ErrorCode.BadFrame } });
    expect(decodeServer(new Uint8Array(0)).ok).toBe(false);
  });

  // Regression: the kind/op masks alone read 0x83, 259, 2^32 + 3 and -125 as a Join request (3),
  // which answered with InvalidFields (102) instead of UnknownType (101).
  it('decodeRequest: a type outside 0–127 is an unknown type, even when its low bits name a request', () => {
    for (const type of [128 + Op.Join, 256 + Op.Join, 2 ** 32 + Op.Join, -128 + Op.Join]) {
      const r = decodeRequest(packAny.encode([type, 5, 'general']));
      expect(r).toMatchObject({ ok: false, error: { code: ErrorCode.UnknownType, rid: 5, op: Op.None } });
    }
  });

  // A newer server may push events this version does not know (op 19–31): they are skipped, and
  // the frames batched with them still arrive. Unknown replies and errors stay errors.
  it('decodeServer: an event this version does not know is skipped, alone or in a batch', () => {
    const unknown = packAny.encode([T.event(30 as Op), 5, 'x']);
    const msg = encodeEvent({ op: Op.Message, cid: 3, seq: 7, user: 'alice', text: 'hi', ts: 1 });
    const ack = encodeReply({ op: Op.Message, rid: 4, seq: 7, ts: 1 });
    expect(decodeServer(unknown)).toEqual({ ok: true, value: [] });
    const got = decodeServer(encodeBatch([msg, unknown, ack]));
    expect(got.ok && got.value.map((f) => [f.kind, f.op])).toEqual([
      [Kind.Event, Op.Message],
      [Kind.Reply, Op.Message],
    ]);
    expect(decodeServer(packAny.encode([T.reply(30 as Op), 1])).ok).toBe(false);
  });

  // Regression: decodeServer read 0xC9 (0x80 | typing event) as a typing event.
  it('decodeServer: a type outside 0–127 is refused, even when its low bits name an event', () => {
    for (const type of [128 + T.event(Op.Typing), 256 + T.event(Op.Typing)]) {
      expect(decodeServer(packAny.encode([type, 1, ['alice']])).ok).toBe(false);
    }
  });
});

describe('the Message fast path agrees with its zod schema', { timeout: 60_000 }, () => {
  const schema = requestSchemas[Op.Message];
  const type = T.req(Op.Message);
  // Values around every bound the schema has, plus values of the wrong kind.
  const any = fc.oneof(
    int(-2, 3),
    int(0xffff_fffe, 0x1_0000_0001),
    int(MAX - 1, MAX),
    fc.constantFrom(MAX + 2, 1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, null, undefined, true, '', 'x', [], {}),
    str(Limits.text + 1, 0),
    str(Limits.clientMsgId + 1, 0),
    rawStr(Limits.clientMsgId + 1, 0),
    units(Limits.clientMsgId + 1),
    edgy,
    fc.tuple(str(Limits.clientMsgId), edgy, str(Limits.clientMsgId)).map(([a, b, c]) => a + b + c),
  );
  const near = fc.oneof(rid, cid, str(Limits.text), str(Limits.clientMsgId), fc.constant(null), bomText, any);

  it('accepts exactly what zod accepts, with the same fields', () => {
    fc.assert(
      fc.property(fc.array(near, { minLength: 1, maxLength: 6 }), (rest) => {
        const raw = [type, ...rest];
        const fast = fastMessage(raw);
        const slow = schema.safeParse(raw);
        expect(fast !== null).toBe(slow.success);
        if (fast) expect(fast).toEqual({ op: Op.Message, rid: raw[1], cid: raw[2], text: raw[3], cmid: raw[4] ?? null });
      }),
      { numRuns: 20_000 },
    );
  });

  it('refuses exactly the text and client ids zod refuses: controls, lone surrogates, U+FFFE/U+FFFF', () => {
    const texty = fc.oneof(
      edgy,
      units(40),
      rawStr(40, 0),
      fc.tuple(str(40, 0), edgy, str(40, 0)).map(([a, b, c]) => a + b + c),
    );
    fc.assert(
      fc.property(texty, fc.option(texty, { nil: undefined }), (t, cmid) => {
        const raw = cmid === undefined ? [type, 1, 2, t] : [type, 1, 2, t, cmid];
        expect(fastMessage(raw) !== null).toBe(schema.safeParse(raw).success);
      }),
      { numRuns: 5000 },
    );
  });

  // decodeRequest reads a send straight from its bytes (hot-frames.ts readMessageRequest) and
  // hands everything else to the generic path: the two must agree on every frame.
  const rawOf = fc.oneof(
    fc.array(near, { minLength: 1, maxLength: 6 }).map((rest) => [type, ...rest]),
    fc
      .tuple(rid, cid, text, fc.option(str(Limits.clientMsgId), { nil: undefined }))
      .map(([r, c, t, m]) => (m === undefined ? [type, r, c, t] : [type, r, c, t, m])),
  );
  const frameOf = fc.oneof(
    rawOf.map((raw) => packAny.encode(raw)),
    rawOf.map(wide),
  );
  const mutated = mutationsOf(frameOf);

  it('reads every frame from its bytes exactly as the generic decoder does', () => {
    fc.assert(
      fc.property(mutated, (bytes) => {
        expect(decodeRequest(bytes)).toEqual(decodeRequestGeneric(bytes));
      }),
      { numRuns: 30_000 },
    );
  });

  it('reads a send from its bytes, with or without a cmid, in every integer width, and keeps a leading BOM', () => {
    const frames: [unknown[], Request][] = [
      [[type, 7, 3, 'hi'], { op: Op.Message, rid: 7, cid: 3, text: 'hi', cmid: null }],
      [[type, 7, 3, 'hi', null], { op: Op.Message, rid: 7, cid: 3, text: 'hi', cmid: null }],
      [[type, 300, 70_000, '\ufeffé😀', 'c-1'], { op: Op.Message, rid: 300, cid: 70_000, text: '\ufeffé😀', cmid: 'c-1' }],
      [[type, 0xffff_ffff, MAX, 'x'.repeat(300), 'k'], { op: Op.Message, rid: 0xffff_ffff, cid: MAX, text: 'x'.repeat(300), cmid: 'k' }],
    ];
    for (const [raw, want] of frames) {
      for (const bytes of [packAny.encode(raw), wide(raw)]) {
        expect(decodeRequest(bytes)).toEqual({ ok: true, value: want });
        expect(decodeRequestGeneric(bytes)).toEqual({ ok: true, value: want });
      }
    }
  });

  it('takes every well-formed message (so sends do not fall back to zod)', () => {
    fc.assert(
      fc.property(rid, cid, text, fc.option(str(Limits.clientMsgId), { nil: undefined }), (r, c, text, cmid) => {
        const raw = cmid === undefined ? [type, r, c, text] : [type, r, c, text, cmid];
        expect(schema.safeParse(raw).success).toBe(true);
        expect(fastMessage(raw)).not.toBeNull();
      }),
    );
  });
});

// decodeServer reads chat message events and send acks straight from their bytes
// (hot-frames.ts readHotServerFrames) and hands everything else to the generic path: the two must
// agree on every message, batches included.
describe('the server hot path agrees with the generic decoder', { timeout: 60_000 }, () => {
  const evType = T.event(Op.Message);
  const ackType = T.reply(Op.Message);
  const text = fc.oneof(str(Limits.text, 0), rawStr(80, 0), units(40), edgy, bomText);
  const any = fc.oneof(int(-2, 3), int(MAX - 1, MAX), fc.constantFrom(MAX + 2, 1.5, -0, Number.NaN, null, true, '', 'x', [], {}), text);
  const rawOf = fc.oneof(
    fc.tuple(cid, seq, text, text, ts).map(([c, s, u, t, at]) => [evType, c, s, u, t, at]),
    fc.tuple(rid, seq, ts).map(([r, s, at]) => [ackType, r, s, at]),
    fc
      .tuple(fc.constantFrom(evType, ackType, T.event(Op.Typing)), fc.array(fc.oneof(nat, any), { maxLength: 6 }))
      .map(([t, rest]) => [t, ...rest]),
    fc.tuple(cid, seq, text, text, ts).map(([c, s, u, t, at]) => [evType, c, s, u, t, at, [['👍', [u]]]]),
  );
  const frameOf = fc.oneof(
    rawOf.map((raw) => packAny.encode(raw)),
    rawOf.map(wide),
    serverFrameArb.map((f) => f.bytes),
  );
  const messageOf = fc.oneof(
    frameOf,
    fc.array(frameOf, { minLength: 0, maxLength: 5 }).map((parts) => encodeBatch(parts)),
  );
  const mutated = mutationsOf(messageOf);

  it('reads every message from its bytes exactly as the generic decoder does', () => {
    fc.assert(
      fc.property(mutated, (bytes) => {
        expect(decodeServer(bytes)).toEqual(decodeServerGeneric(bytes));
      }),
      { numRuns: 30_000 },
    );
  });

  it('reads events and acks alone and batched, in every integer width, keeping a leading BOM', () => {
    const e = { kind: Kind.Event, op: Op.Message, cid: 70_000, seq: MAX, user: 'é', text: '\ufeff😀', ts: 1_700_000_000_000 };
    const a = { kind: Kind.Reply, op: Op.Message, rid: 0xffff_ffff, seq: 300, ts: 5 };
    const ev = [evType, e.cid, e.seq, e.user, e.text, e.ts];
    const ack = [ackType, a.rid, a.seq, a.ts];
    for (const enc of [(r: unknown[]) => packAny.encode(r), wide]) {
      expect(decodeServer(enc(ev))).toEqual({ ok: true, value: [e] });
      expect(decodeServer(enc(ack))).toEqual({ ok: true, value: [a] });
      const both = encodeBatch([enc(ev), enc(ack), enc(ev)]);
      expect(decodeServer(both)).toEqual({ ok: true, value: [e, a, e] });
      expect(decodeServerGeneric(both)).toEqual({ ok: true, value: [e, a, e] });
    }
  });

  it('a batch mixing hot frames with others: the hot ones read from their bytes, the rest the generic way, in order', () => {
    const e = { kind: Kind.Event, op: Op.Message, cid: 7, seq: 9, user: 'ann', text: 'hi', ts: 1_700_000_000_000 };
    const typing = { kind: Kind.Event, op: Op.Typing, cid: 7, users: ['bob'] };
    const ev = packAny.encode([evType, e.cid, e.seq, e.user, e.text, e.ts]);
    const ty = encodeEvent({ op: Op.Typing, cid: 7, users: ['bob'] });
    const mixed = encodeBatch([ev, ev, ty, ev]);
    const hot = readHotServerFrames(
      mixed,
      { batch: mixed[0] as number, event: evType, ack: ackType },
      () => 'event',
      () => 'ack',
    );
    expect(hot).toEqual({ frames: ['event', 'event'], rest: 1 + 2 * ev.length });
    expect(decodeServer(mixed)).toEqual({ ok: true, value: [e, e, typing, e] });
    // Nothing hot at the start: all of it the generic way; a bad tail fails the whole batch.
    expect(
      readHotServerFrames(
        encodeBatch([ty, ev]),
        { batch: mixed[0] as number, event: evType, ack: ackType },
        () => 1,
        () => 2,
      ),
    ).toBeNull();
    expect(decodeServer(encodeBatch([ev, Uint8Array.of(0xc1)]))).toMatchObject({ ok: false });
  });
});

describe('hot frames are byte for byte what the generic msgpack Encoder writes', { timeout: 60_000 }, () => {
  const generic = new Encoder({ ignoreUndefined: true });
  // Unsigned integers at every msgpack width boundary, and strings of every header size
  // (fixstr, str8, str16), ASCII and not (the writer takes a different path for each).
  const uint = fc.oneof(int(0, 300), int(0xff_f0, 0x1_00_10), int(0xffff_fff0, 0x1_0000_0010), int(0, MAX));
  const text = fc.oneof(
    str(Limits.text, 0),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    fc.string({ unit: 'binary-ascii', minLength: 30, maxLength: 34 }),
    fc.string({ unit: 'binary-ascii', minLength: 250, maxLength: 260 }),
    fc.constantFrom('é'.repeat(11), 'é'.repeat(85), '😀'.repeat(64), 'x'.repeat(0x10000), `a${'é'.repeat(20000)}`),
  );
  const bytes = (u: Uint8Array) => Buffer.from(u).toString('hex');

  it('chat message events (no reactions)', () => {
    fc.assert(
      fc.property(uint, uint, text, text, uint, (cid, seq, user, body, ts) => {
        const e = { op: Op.Message, cid, seq, user, text: body, ts } as const;
        expect(bytes(encodeEvent(e))).toBe(bytes(generic.encode([T.event(Op.Message), cid, seq, user, body, ts])));
      }),
      { numRuns: 3000 },
    );
  });

  it('send acks', () => {
    fc.assert(
      fc.property(uint, uint, uint, (rid, seq, ts) => {
        const r = { op: Op.Message, rid, seq, ts } as const;
        expect(bytes(encodeReply(r))).toBe(bytes(generic.encode([T.reply(Op.Message), rid, seq, ts])));
      }),
    );
  });
});

describe('List paging on the wire', () => {
  it('a bare List (older clients) is the first page of the default size', () => {
    const bare = encodeRequest({ op: Op.List, rid: 3 });
    expect(bare.byteLength).toBe(3); // [type, rid]: what servers before paging accept
    expect(decodeRequest(bare)).toEqual({ ok: true, value: { op: Op.List, rid: 3, after: null, limit: Limits.listPage, prefix: null } });
  });
  it('a page size above the cap is refused with 102', () => {
    const r = decodeRequest(encodeRequest({ op: Op.List, rid: 3, after: null, limit: Limits.listPage + 1, prefix: null }));
    expect(r.ok ? null : r.error.code).toBe(ErrorCode.InvalidFields);
  });
});
