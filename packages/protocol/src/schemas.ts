import { z } from 'zod';
import { Limits, Op } from './types.js';

/**
 * zod schemas for every client → server frame, positional: [type, rid, ...fields].
 * rid is a request id (0 = fire-and-forget, no reply).
 */
const rid = z.number().int().min(0).max(0xffff_ffff);
const cid = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const channelName = z
  .string()
  .min(1)
  .max(Limits.channelName)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'channel names are lowercase letters, digits, - and _');
const text = z.string().min(1).max(Limits.text);
const emoji = z.string().min(1).max(Limits.emoji);
// History cursors: 0 is a valid "after" (from the beginning).
const nullableSeq = z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.null()]);

const t = (type: number) => z.literal(type);

import { T } from './frames.js';

export const requestSchemas = {
  [Op.Create]: z.tuple([t(T.req(Op.Create)), rid, channelName]),
  [Op.Join]: z.tuple([t(T.req(Op.Join)), rid, channelName]),
  [Op.Leave]: z.tuple([t(T.req(Op.Leave)), rid, cid]),
  [Op.List]: z.tuple([t(T.req(Op.List)), rid]),
  [Op.Members]: z.tuple([t(T.req(Op.Members)), rid, cid]),
  [Op.Message]: z.tuple([t(T.req(Op.Message)), rid, cid, text, z.union([z.string().min(1).max(Limits.clientMsgId), z.null()]).optional()]),
  [Op.History]: z.tuple([t(T.req(Op.History)), rid, cid, nullableSeq, nullableSeq, z.number().int().min(1).max(Limits.historyPage)]),
  [Op.Typing]: z.tuple([t(T.req(Op.Typing)), rid, cid]),
  [Op.React]: z.tuple([t(T.req(Op.React)), rid, cid, seq, emoji]),
  [Op.Unreact]: z.tuple([t(T.req(Op.Unreact)), rid, cid, seq, emoji]),
  [Op.Command]: z.tuple([t(T.req(Op.Command)), rid, cid, z.string().min(1).max(Limits.command)]),
} as const;

export type RequestOp = keyof typeof requestSchemas;
