import { Encoder } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeRequest } from './codec.js';
import { ErrorCode } from './codes.js';
import { T } from './frames.js';
import { requestSchemas } from './schemas.js';
import { Limits, Op } from './types.js';

const pack = (v: unknown[]) => new Encoder().encode(v);
const decode = (v: unknown[]) => decodeRequest(pack(v));
const refused = (v: unknown[]) => {
  const r = decode(v);
  if (r.ok) throw new Error(`accepted ${JSON.stringify(v)}`);
  return r.error;
};

describe('zod validation errors name the field', () => {
  it.each([
    ['text too long', [T.req(Op.Message), 1, 3, 'x'.repeat(Limits.text + 1)], 'field 3 (text)', 'Too big'],
    ['empty text', [T.req(Op.Message), 1, 3, ''], 'field 3 (text)', 'Too small'],
    ['empty client message id', [T.req(Op.Message), 1, 3, 'hi', ''], 'field 4 (cmid)', ''],
    ['bad channel name', [T.req(Op.Join), 1, 'Bad Name'], 'field 2 (name)', 'lowercase letters'],
    ['page too large', [T.req(Op.History), 1, 3, null, null, 101], 'field 5 (limit)', '<=100'],
    ['negative cursor', [T.req(Op.History), 1, 3, -1, null, 10], 'field 3 (before)', ''],
    ['emoji too long', [T.req(Op.React), 1, 3, 5, 'x'.repeat(Limits.emoji + 1)], 'field 4 (emoji)', '<=32'],
    ['cid as a string', [T.req(Op.Leave), 2, '3'], 'field 2 (cid)', 'expected number'],
    ['cid 0', [T.req(Op.Typing), 2, 0], 'field 2 (cid)', '>=1'],
    ['negative rid', [T.req(Op.Leave), -1, 3], 'field 1 (rid)', '>=0'],
    ['fractional seq', [T.req(Op.Unreact), 1, 3, 1.5, '👍'], 'field 3 (seq)', ''],
    ['command too long', [T.req(Op.Command), 1, 3, '/'.repeat(Limits.command + 1)], 'field 3 (text)', ''],
  ])('%s', (_, frame, field, detail) => {
    const e = refused(frame);
    expect(e.code).toBe(ErrorCode.InvalidFields);
    expect(e.message).toContain(field);
    expect(e.message).toContain(detail);
  });

  it('a wrong field count is reported as such', () => {
    expect(refused([T.req(Op.Message), 1, 3]).message).toMatch(/expected array to have >=4 items/);
    expect(refused([T.req(Op.Message), 1, 3, 'hi', 'c', 'extra']).message).toMatch(/<=5 items/);
  });

  it('the error echoes rid and op when they could be read, so it can answer the request', () => {
    expect(refused([T.req(Op.Message), 42, 3, ''])).toMatchObject({ rid: 42, op: Op.Message });
    expect(refused([T.req(Op.Leave), 'x', 3])).toMatchObject({ rid: 0, op: Op.Leave });
    expect(refused([T.reply(Op.Join), 7, 'general'])).toMatchObject({ code: ErrorCode.UnknownType, rid: 7, op: Op.None });
    expect(refused([T.req(Op.Hello), 7])).toMatchObject({ code: ErrorCode.UnknownType, rid: 7, op: Op.None });
    expect(refused([3.5, 7, 'general'])).toMatchObject({ code: ErrorCode.UnknownType });
    expect(decodeRequest(new Encoder().encode({ type: 3 }))).toMatchObject({ ok: false, error: { code: ErrorCode.BadFrame } });
    expect(decodeRequest(Uint8Array.of(0xc1))).toMatchObject({ ok: false, error: { code: ErrorCode.BadFrame } });
  });
});

describe('limits are enforced at their boundary', () => {
  const ok = (v: unknown[]) => expect(decode(v).ok).toBe(true);
  const no = (v: unknown[]) => expect(refused(v).code).toBe(ErrorCode.InvalidFields);

  it('text', () => {
    ok([T.req(Op.Message), 1, 3, 'x'.repeat(Limits.text)]);
    no([T.req(Op.Message), 1, 3, 'x'.repeat(Limits.text + 1)]);
  });
  it('client message id', () => {
    ok([T.req(Op.Message), 1, 3, 'x', 'c'.repeat(Limits.clientMsgId)]);
    no([T.req(Op.Message), 1, 3, 'x', 'c'.repeat(Limits.clientMsgId + 1)]);
  });
  it('channel name', () => {
    ok([T.req(Op.Create), 1, 'a'.repeat(Limits.channelName)]);
    no([T.req(Op.Create), 1, 'a'.repeat(Limits.channelName + 1)]);
    no([T.req(Op.Create), 1, '-general']);
    no([T.req(Op.Create), 1, '']);
  });
  it('emoji', () => {
    ok([T.req(Op.React), 1, 3, 9, 'x'.repeat(Limits.emoji)]);
    no([T.req(Op.React), 1, 3, 9, 'x'.repeat(Limits.emoji + 1)]);
    no([T.req(Op.React), 1, 3, 9, '']);
  });
  it('history page', () => {
    ok([T.req(Op.History), 1, 3, 50, null, Limits.historyPage]);
    no([T.req(Op.History), 1, 3, 50, null, Limits.historyPage + 1]);
    no([T.req(Op.History), 1, 3, 50, null, 0]);
  });
  it('command', () => {
    ok([T.req(Op.Command), 1, 3, '/'.repeat(Limits.command)]);
    no([T.req(Op.Command), 1, 3, '/'.repeat(Limits.command + 1)]);
  });
  it('rid is a uint32', () => {
    ok([T.req(Op.List), 0xffff_ffff]);
    no([T.req(Op.List), 0x1_0000_0000]);
  });
  it('cid and seq are positive safe integers', () => {
    ok([T.req(Op.React), 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, '👍']);
    no([T.req(Op.React), 1, Number.MAX_SAFE_INTEGER + 1, 1, '👍']);
  });
  it('there is a schema for every request op, and only for those', () => {
    expect(
      Object.keys(requestSchemas)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual([Op.Create, Op.Join, Op.Leave, Op.List, Op.Members, Op.Message, Op.History, Op.Typing, Op.React, Op.Unreact, Op.Command]);
  });
});

describe('invalid text is refused up front with 102, naming the field (text.ts)', () => {
  const bad = ['\u0000', 'a\ud800b', 'x\udc00', '\r', '\x1b[2J', '\x7f', '\u0085', '\ufffe', '\uffff'];
  it.each(bad.map((c) => [JSON.stringify(c), c]))('%s', (_, c) => {
    const cases: [unknown[], string][] = [
      [[T.req(Op.Message), 1, 3, `hi${c}there`], 'field 3 (text)'],
      [[T.req(Op.Message), 1, 3, 'hi', `id${c}`], 'field 4 (cmid)'],
      [[T.req(Op.Command), 1, 3, `/kick alice bad${c}reason`], 'field 3 (text)'],
      [[T.req(Op.React), 1, 3, 9, `👍${c}`], 'field 4 (emoji)'],
      [[T.req(Op.Unreact), 1, 3, 9, c], 'field 4 (emoji)'],
      [[T.req(Op.Join), 1, `general${c}`], 'field 2 (name)'],
      [[T.req(Op.Create), 1, `general${c}`], 'field 2 (name)'],
      [[T.req(Op.List), 1, `gen${c}`], 'field 2 (after)'],
      [[T.req(Op.List), 1, null, 10, c], 'field 4 (prefix)'],
      [[T.req(Op.Members), 1, 3, `alice${c}`], 'field 3 (after)'],
    ];
    for (const [frame, field] of cases) {
      const e = refused(frame);
      expect(e.code, field).toBe(ErrorCode.InvalidFields);
      expect(e.message).toContain(field);
    }
  });

  it('newlines and tabs are text, not names', () => {
    expect(decode([T.req(Op.Message), 1, 3, 'line one\nline two\tand a tab']).ok).toBe(true);
    expect(decode([T.req(Op.Command), 1, 3, '/kick alice\tspamming\nagain']).ok).toBe(true);
    expect(refused([T.req(Op.React), 1, 3, 9, '👍\n']).message).toContain('field 4 (emoji)');
    expect(refused([T.req(Op.Message), 1, 3, 'hi', 'a\tb']).message).toContain('field 4 (cmid)');
  });

  it('real text passes: emoji sequences, variation selectors, RTL, combining marks, U+FFFD', () => {
    for (const t of ['👨‍👩‍👧', '❤️', 'مرحبا', 'e\u0301', 'Ä\u00a0b', '\ufffd', '\u200c']) {
      expect(decode([T.req(Op.Message), 1, 3, t]).ok, t).toBe(true);
      expect(decode([T.req(Op.React), 1, 3, 9, t]).ok, t).toBe(true);
    }
  });
});

describe('lengths are UTF-16 code units, as documented and as the SDK counts', () => {
  // zod 4.6 counts code points in .max(): 4000 astral characters (8000 units) got through.
  it('an astral character counts 2', () => {
    expect(decode([T.req(Op.Message), 1, 3, '😀'.repeat(Limits.text / 2)]).ok).toBe(true);
    expect(refused([T.req(Op.Message), 1, 3, `x${'😀'.repeat(Limits.text / 2)}`]).message).toContain('<=4000');
    expect(refused([T.req(Op.React), 1, 3, 9, '😀'.repeat(Limits.emoji / 2 + 1)]).message).toContain('<=32');
    expect(refused([T.req(Op.Message), 1, 3, 'x', '😀'.repeat(Limits.clientMsgId / 2 + 1)]).code).toBe(ErrorCode.InvalidFields);
    expect(refused([T.req(Op.Command), 1, 3, '😀'.repeat(Limits.command / 2 + 1)]).code).toBe(ErrorCode.InvalidFields);
  });
});
