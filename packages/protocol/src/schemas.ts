import { z } from 'zod';
import { INVALID_NAME, INVALID_TEXT, isValidName, isValidText } from './text.js';
import { Limits, Op } from './types.js';

/**
 * zod schemas for every client → server frame, positional: [type, rid, ...fields].
 * rid is a request id (0 = fire-and-forget, no reply).
 */
const rid = z.number().int().min(0).max(0xffff_ffff);
const cid = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
/**
 * A string of min–max UTF-16 code units (`string.length`), as `Limits`, the SDK and the fast path
 * count: zod 4.6's `.max()` counts code points, which let up to twice the documented length of
 * astral text through zod (and past the fast path, which then disagreed with it).
 */
const sized = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .refine((s) => s.length <= max, `Too big: expected string to have <=${max} characters`);
const channelName = sized(1, Limits.channelName).regex(/^[a-z0-9][a-z0-9_-]*$/, 'channel names are lowercase letters, digits, - and _');
// Text a client supplies is checked for control characters and lone surrogates (text.ts); channel
// names need no extra check: their pattern is ASCII letters, digits, - and _ only.
const text = sized(1, Limits.text).refine(isValidText, INVALID_TEXT);
const emoji = sized(1, Limits.emoji).refine(isValidName, INVALID_NAME);
// Page cursors and prefixes (List, Members) are compared with names, so they follow names' rules:
// a NUL reached the database and came back as a retryable 503.
const nameCursor = (max: number) => z.union([sized(1, max).refine(isValidName, INVALID_NAME), z.null()]).optional();
const clientMsgId = sized(1, Limits.clientMsgId).refine(isValidName, INVALID_NAME);
const command = sized(1, Limits.command).refine(isValidText, INVALID_TEXT);
// History cursors: 0 is a valid "after" (from the beginning).
const nullableSeq = z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.null()]);

const t = (type: number) => z.literal(type);

import { T } from './frames.js';

export const requestSchemas = {
  [Op.Create]: z.tuple([t(T.req(Op.Create)), rid, channelName]),
  [Op.Join]: z.tuple([t(T.req(Op.Join)), rid, channelName]),
  [Op.Leave]: z.tuple([t(T.req(Op.Leave)), rid, cid]),
  [Op.List]: z.tuple([
    t(T.req(Op.List)),
    rid,
    nameCursor(Limits.channelName),
    z.number().int().min(1).max(Limits.listPage).optional(),
    nameCursor(Limits.channelName),
  ]),
  [Op.Members]: z.tuple([
    t(T.req(Op.Members)),
    rid,
    cid,
    nameCursor(Limits.userName),
    z.number().int().min(1).max(Limits.membersPage).optional(),
  ]),
  [Op.Message]: z.tuple([t(T.req(Op.Message)), rid, cid, text, z.union([clientMsgId, z.null()]).optional()]),
  [Op.History]: z.tuple([t(T.req(Op.History)), rid, cid, nullableSeq, nullableSeq, z.number().int().min(1).max(Limits.historyPage)]),
  [Op.Typing]: z.tuple([t(T.req(Op.Typing)), rid, cid]),
  [Op.React]: z.tuple([t(T.req(Op.React)), rid, cid, seq, emoji]),
  [Op.Unreact]: z.tuple([t(T.req(Op.Unreact)), rid, cid, seq, emoji]),
  [Op.Command]: z.tuple([t(T.req(Op.Command)), rid, cid, command]),
} as const;

export type RequestOp = keyof typeof requestSchemas;
