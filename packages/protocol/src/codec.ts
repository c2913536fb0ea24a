import { Decoder, Encoder } from '@msgpack/msgpack';
import { ErrorCode } from './codes.js';
import type { ChatMessage, ErrorFrame, Event, PresenceEntry, ReactionSummary, Reply, Request, ServerFrame } from './frames.js';
import { T } from './frames.js';
import { readHotServerFrames, readMessageRequest, writeMessageAck, writeMessageEvent } from './hot-frames.js';
import { MaxDepth, scanMsgpack } from './scan.js';
import { type RequestOp, requestSchemas } from './schemas.js';
import { isValidName, isValidText } from './text.js';
import { Kind, kindOf, Limits, Op, opOf } from './types.js';

export type Result<V, E> = { ok: true; value: V } | { ok: false; error: E };

/** Why a client frame was refused; `rid`/`op` are filled in when they could be read, so the error can answer the request. */
export interface DecodeError {
  code: number;
  message: string;
  rid: number;
  op: Op;
}

const encoder = new Encoder({ ignoreUndefined: true });
/** What hot-frames.ts writes: non-negative safe integers (anything else takes the generic encoder). */
const uints = (a: number, b: number, c: number): boolean =>
  Number.isSafeInteger(a) && a >= 0 && Number.isSafeInteger(b) && b >= 0 && Number.isSafeInteger(c) && c >= 0;
const decoder = new Decoder();
const pack = (v: unknown): Uint8Array => encoder.encode(v);

// ---------- positional helpers ----------
type PresenceTuple = [string, 0 | 1];
/** `[emoji, users, count?]`: count only when more reacted than `users` names. */
type ReactionTuple = [string, string[], number?];
type MessageTuple = [number, string, string, number, ReactionTuple[]?];

const presenceToTuple = (p: PresenceEntry): PresenceTuple => [p.user, p.guest ? 1 : 0];
const tupleToPresence = (t: unknown): PresenceEntry => {
  const [user, guest] = t as PresenceTuple;
  return { user: String(user), guest: guest === 1 };
};
const reactionsToTuples = (r: ReactionSummary[] | undefined): ReactionTuple[] | undefined =>
  r && r.length > 0
    ? r.map((x) => (x.count !== undefined && x.count > x.users.length ? [x.emoji, x.users, x.count] : [x.emoji, x.users]))
    : undefined;
const tuplesToReactions = (r: unknown): ReactionSummary[] | undefined =>
  Array.isArray(r)
    ? (r as ReactionTuple[]).map(([emoji, users, count]) => (typeof count === 'number' ? { emoji, users, count } : { emoji, users }))
    : undefined;

/** A presence list's frame with the count of all appended, only when the list is a part of them. */
const withCount = (frame: unknown[], count: number | undefined, listed: number): unknown[] =>
  count !== undefined && count > listed ? [...frame, count] : frame;

function messageToTuple(m: ChatMessage): MessageTuple {
  const r = reactionsToTuples(m.reactions);
  return r ? [m.seq, m.user, m.text, m.ts, r] : [m.seq, m.user, m.text, m.ts];
}
function tupleToMessage(cid: number, t: unknown): ChatMessage {
  const [seq, user, text, ts, r] = t as MessageTuple;
  const m: ChatMessage = { cid, seq, user, text, ts };
  const reactions = tuplesToReactions(r);
  if (reactions) m.reactions = reactions;
  return m;
}

// ---------- client side: requests ----------
export function encodeRequest(r: Request): Uint8Array {
  const type = T.req(r.op);
  switch (r.op) {
    case Op.Create:
    case Op.Join:
      return pack([type, r.rid, r.name]);
    case Op.Leave:
    case Op.Typing:
      return pack([type, r.rid, r.cid]);
    case Op.Members:
      // The bare form (first page, default size) stays three fields: what older servers accept.
      return pack(r.after || r.limit ? [type, r.rid, r.cid, r.after ?? null, r.limit ?? Limits.membersPage] : [type, r.rid, r.cid]);
    case Op.List:
      // The bare form (first page, default size) stays two fields: what older servers accept.
      return pack(
        r.after || r.limit || r.prefix ? [type, r.rid, r.after ?? null, r.limit ?? Limits.listPage, r.prefix ?? null] : [type, r.rid],
      );
    case Op.Message:
      return pack(r.cmid ? [type, r.rid, r.cid, r.text, r.cmid] : [type, r.rid, r.cid, r.text]);
    case Op.History:
      return pack([type, r.rid, r.cid, r.before, r.after, r.limit]);
    case Op.React:
    case Op.Unreact:
      return pack([type, r.rid, r.cid, r.seq, r.emoji]);
    case Op.Command:
      return pack([type, r.rid, r.cid, r.text]);
  }
}

const MESSAGE_REQUEST = T.req(Op.Message);

/** Decode and validate one client frame. Never throws. */
export function decodeRequest(bytes: Uint8Array): Result<Request, DecodeError> {
  // The hot path: a well-formed send, read straight from its bytes (hot-frames.ts).
  const send = readMessageRequest(bytes, MESSAGE_REQUEST, checkedMessage);
  return send ? ok(send) : decodeRequestGeneric(bytes);
}

/** decodeRequest without the send fast path: every frame through scan, the Decoder and the schemas. */
export function decodeRequestGeneric(bytes: Uint8Array): Result<Request, DecodeError> {
  // Bounds what the Decoder may allocate before it allocates anything (scan.ts).
  const bad = scanMsgpack(bytes, 0, MaxDepth.request, false);
  if (bad !== null) return fail(ErrorCode.BadFrame, `frame is not valid msgpack: ${bad}`, 0, Op.None);
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch {
    return fail(ErrorCode.BadFrame, 'frame is not valid msgpack', 0, Op.None);
  }
  if (!Array.isArray(raw) || raw.length < 2 || typeof raw[0] !== 'number') {
    return fail(ErrorCode.BadFrame, 'frame must be an array [type, rid, ...]', 0, Op.None);
  }
  const type = raw[0];
  const rid = typeof raw[1] === 'number' && Number.isInteger(raw[1]) && raw[1] >= 0 ? raw[1] : 0;
  const op = opOf(type);
  // Compare the whole type, not just its kind and op bits: the masks alone would read 0x83 or 259 as Join (3).
  if (!Number.isInteger(type) || !(op in requestSchemas) || type !== T.req(op)) {
    return fail(ErrorCode.UnknownType, `unknown frame type ${type}`, rid, Op.None);
  }
  if (op === Op.Message) {
    const m = fastMessage(raw);
    if (m) return ok(m);
  }
  const parsed = requestSchemas[op as RequestOp].safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `field ${fieldName(op as RequestOp, issue.path)}: ` : '';
    return fail(ErrorCode.InvalidFields, `${where}${issue?.message ?? 'invalid frame'}`, rid, op);
  }
  // Validated above: positions hold what the schema says (no helper closures on the hot path).
  const f = parsed.data as unknown as Fields;
  switch (op) {
    case Op.Create:
    case Op.Join:
      return ok({ op, rid, name: f[2] as string });
    case Op.Leave:
    case Op.Typing:
      return ok({ op, rid, cid: f[2] as number });
    case Op.Members:
      return ok({
        op,
        rid,
        cid: f[2] as number,
        after: (f[3] as string | null | undefined) ?? null,
        limit: (f[4] as number | undefined) ?? Limits.membersPage,
      });
    case Op.List:
      return ok({
        op,
        rid,
        after: (f[2] as string | null | undefined) ?? null,
        limit: (f[3] as number | undefined) ?? Limits.listPage,
        prefix: (f[4] as string | null | undefined) ?? null,
      });
    case Op.Message:
      return ok({ op, rid, cid: f[2] as number, text: f[3] as string, cmid: (f[4] as string | null | undefined) ?? null });
    case Op.History:
      return ok({
        op,
        rid,
        cid: f[2] as number,
        before: f[3] as number | null,
        after: f[4] as number | null,
        limit: f[5] as number,
      });
    case Op.React:
    case Op.Unreact:
      return ok({ op, rid, cid: f[2] as number, seq: f[3] as number, emoji: f[4] });
    case Op.Command:
      return ok({ op, rid, cid: f[2] as number, text: f[3] as string });
    default:
      return fail(ErrorCode.UnknownType, `unknown frame type ${type}`, rid, Op.None);
  }
}

/**
 * The send path's check, without zod: it accepts only frames that the Message schema accepts
 * (property-tested against it in codec.property.test.ts); anything else, valid or not, goes on to
 * zod, which also words the error. `raw` is [type, ...] with the type already checked.
 */
export function fastMessage(raw: unknown[]): Extract<Request, { op: typeof Op.Message }> | null {
  if (raw.length !== 4 && raw.length !== 5) return null;
  return checkedMessage(raw[1], raw[2], raw[3], raw[4]);
}

function checkedMessage(rid: unknown, cid: unknown, text: unknown, cmid: unknown): Extract<Request, { op: typeof Op.Message }> | null {
  if (typeof rid !== 'number' || !Number.isInteger(rid) || rid < 0 || rid > 0xffff_ffff) return null;
  if (typeof cid !== 'number' || !Number.isInteger(cid) || cid < 1 || cid > Number.MAX_SAFE_INTEGER) return null;
  if (typeof text !== 'string' || text.length < 1 || text.length > Limits.text || !isValidText(text)) return null;
  if (
    cmid !== undefined &&
    cmid !== null &&
    (typeof cmid !== 'string' || cmid.length < 1 || cmid.length > Limits.clientMsgId || !isValidName(cmid))
  ) {
    return null;
  }
  return { op: Op.Message, rid, cid, text, cmid: cmid ?? null };
}

/** A validated request's positions 2… (what each holds depends on the op; its schema checked it). */
type Fields = [type: number, rid: number, a: number & string, b: number & string, c: number & string, d: number];

/** Positional field names per request, so a validation error says `field 3 (text)`, not just `field 3`. */
const FIELD_NAMES: Record<RequestOp, readonly string[]> = {
  [Op.Create]: ['type', 'rid', 'name'],
  [Op.Join]: ['type', 'rid', 'name'],
  [Op.Leave]: ['type', 'rid', 'cid'],
  [Op.List]: ['type', 'rid', 'after', 'limit', 'prefix'],
  [Op.Members]: ['type', 'rid', 'cid', 'after', 'limit'],
  [Op.Message]: ['type', 'rid', 'cid', 'text', 'cmid'],
  [Op.History]: ['type', 'rid', 'cid', 'before', 'after', 'limit'],
  [Op.Typing]: ['type', 'rid', 'cid'],
  [Op.React]: ['type', 'rid', 'cid', 'seq', 'emoji'],
  [Op.Unreact]: ['type', 'rid', 'cid', 'seq', 'emoji'],
  [Op.Command]: ['type', 'rid', 'cid', 'text'],
};
function fieldName(op: RequestOp, path: readonly PropertyKey[]): string {
  const at = path.map(String).join('.');
  const name = typeof path[0] === 'number' ? FIELD_NAMES[op][path[0]] : undefined;
  return name ? `${at} (${name})` : at;
}

// ---------- server side: replies, events, errors ----------
export function encodeEvent(e: Event): Uint8Array {
  const type = T.event(e.op);
  switch (e.op) {
    case Op.Hello:
      return pack(
        e.guestToken === undefined
          ? [type, e.user, e.guest ? 1 : 0, e.node, e.heartbeatMs]
          : [type, e.user, e.guest ? 1 : 0, e.node, e.heartbeatMs, e.guestToken],
      );
    case Op.Message: {
      const r = reactionsToTuples(e.reactions);
      if (!r && uints(e.cid, e.seq, e.ts)) return writeMessageEvent(type, e.cid, e.seq, e.user, e.text, e.ts);
      const base = [type, e.cid, e.seq, e.user, e.text, e.ts];
      return pack(r ? [...base, r] : base);
    }
    case Op.Typing:
      return pack([type, e.cid, e.users]);
    case Op.Reaction:
      return pack([type, e.cid, e.seq, e.emoji, e.user, e.on ? 1 : 0]);
    case Op.PresenceState:
      return pack(withCount([type, e.cid, e.members.map(presenceToTuple)], e.online, e.members.length));
    case Op.PresenceDiff:
      return pack([type, e.cid, e.joins.map(presenceToTuple), e.leaves]);
    case Op.Moderation:
      return pack([type, e.cid, e.action, e.target, e.actor, e.until, e.reason]);
    case Op.Reconnect:
      return pack([type, e.delayMs]);
  }
}

export function encodeReply(r: Reply): Uint8Array {
  const type = T.reply(r.op);
  switch (r.op) {
    case Op.Create:
      return pack([type, r.rid, r.cid, r.name]);
    case Op.Join:
      return pack(withCount([type, r.rid, r.cid, r.name, r.lastSeq, r.members.map(presenceToTuple)], r.online, r.members.length));
    case Op.Leave:
    case Op.React:
    case Op.Unreact:
      return pack([type, r.rid]);
    case Op.List:
      return pack([type, r.rid, r.channels.map((c) => [c.cid, c.name, c.members]), r.more ? 1 : 0]);
    case Op.Members:
      return pack([type, r.rid, r.members.map((m) => [m.user, m.role, m.online ? 1 : 0]), r.more ? 1 : 0, r.total ?? r.members.length]);
    case Op.Message:
      return uints(r.rid, r.seq, r.ts) ? writeMessageAck(type, r.rid, r.seq, r.ts) : pack([type, r.rid, r.seq, r.ts]);
    case Op.History:
      return pack([type, r.rid, r.cid, r.messages.map(messageToTuple), r.more ? 1 : 0]);
    case Op.Command:
      return pack([type, r.rid, r.text]);
  }
}

export function encodeError(e: ErrorFrame): Uint8Array {
  const base = [T.error(e.op), e.rid, e.code, e.message];
  return pack(e.retryAfterMs !== undefined ? [...base, e.retryAfterMs] : base);
}

const BATCH_TYPE = T.event(Op.Batch);
/**
 * A batch is the batch type byte followed by N already-encoded frames, back to back in one
 * WebSocket message: zero bytes of overhead per frame, and frames are never re-encoded.
 * Parts may themselves be batches: they are flattened (a batch never nests), so batches from
 * several sources can be merged without decoding them.
 */
export function encodeBatch(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let size = 1;
  for (const p of parts) size += p[0] === BATCH_TYPE ? p.byteLength - 1 : p.byteLength;
  const out = new Uint8Array(size);
  out[0] = BATCH_TYPE;
  let at = 1;
  for (const p of parts) {
    const body = p[0] === BATCH_TYPE ? p.subarray(1) : p;
    out.set(body, at);
    at += body.byteLength;
  }
  return out;
}

const HOT_TYPES = { batch: BATCH_TYPE, event: T.event(Op.Message), ack: T.reply(Op.Message) };
const hotEvent = (cid: number, seq: number, user: string, text: string, ts: number): ServerFrame => ({
  kind: Kind.Event,
  op: Op.Message,
  cid,
  seq,
  user,
  text,
  ts,
});
const hotAck = (rid: number, seq: number, ts: number): ServerFrame => ({ kind: Kind.Reply, op: Op.Message, rid, seq, ts });

/** Decode one server WebSocket message (a frame or a batch) into frames. Never throws. */
export function decodeServer(bytes: Uint8Array): Result<ServerFrame[], string> {
  // The hot path: chat messages and send acks, read straight from their bytes (hot-frames.ts).
  const hot = readHotServerFrames(bytes, HOT_TYPES, hotEvent, hotAck);
  if (!hot) return decodeServerGeneric(bytes);
  if (hot.rest === bytes.length) return ok(hot.frames);
  // A batch whose first frames were hot: the rest the generic way, appended in order.
  const tail = decodeBatchFrom(bytes, hot.rest, hot.frames);
  return tail.ok ? ok(hot.frames) : tail;
}

/** decodeServer without its hot path: every frame through the pre-scan and the msgpack Decoder. */
export function decodeServerGeneric(bytes: Uint8Array): Result<ServerFrame[], string> {
  if (bytes[0] === BATCH_TYPE) {
    const out: ServerFrame[] = [];
    const r = decodeBatchFrom(bytes, 1, out);
    return r.ok ? ok(out) : r;
  }
  try {
    // Bounds what the Decoder may allocate (scan.ts): a hostile server cannot freeze the SDK either.
    const bad = scanMsgpack(bytes, 0, MaxDepth.server, false);
    if (bad !== null) return { ok: false, error: `not a valid frame: ${bad}` };
    const f = toServerFrame(decoder.decode(bytes));
    return ok(f ? [f] : []);
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/** The frames of a batch from byte `from` on (a frame boundary), appended to `out`. */
function decodeBatchFrom(bytes: Uint8Array, from: number, out: ServerFrame[]): Result<true, string> {
  try {
    const bad = scanMsgpack(bytes, from, MaxDepth.server, true);
    if (bad !== null) return { ok: false, error: `not a valid frame: ${bad}` };
    for (const v of decoder.decodeMulti(bytes.subarray(from))) {
      const f = toServerFrame(v);
      if (f) out.push(f);
    }
    return ok(true);
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/** A server frame, or null for an event this version does not know (skip it). */
function toServerFrame(raw: unknown): ServerFrame | null {
  if (!Array.isArray(raw) || typeof raw[0] !== 'number') throw new Error('server frame is not [type, ...]');
  const f = raw as unknown[];
  const type = f[0] as number;
  // Only 0–127 are frame types; the kind/op masks alone would accept 0x80 | type as type.
  if (!Number.isInteger(type) || type < 0 || type > 0x7f) throw new Error(`unknown server frame type ${type}`);
  const kind = kindOf(type);
  const op = opOf(type);
  const n = (i: number) => f[i] as number;
  const s = (i: number) => f[i] as string;
  if (kind === Kind.Error) {
    const e: ErrorFrame = { op, rid: n(1), code: n(2), message: s(3) };
    if (typeof f[4] === 'number') e.retryAfterMs = f[4];
    return { kind, ...e };
  }
  if (kind === Kind.Event) {
    switch (op) {
      case Op.Hello:
        return typeof f[5] === 'string'
          ? { kind, op, user: s(1), guest: f[2] === 1, node: s(3), heartbeatMs: n(4), guestToken: f[5] }
          : { kind, op, user: s(1), guest: f[2] === 1, node: s(3), heartbeatMs: n(4) };
      case Op.Message: {
        const m = tupleToMessage(n(1), [f[2], f[3], f[4], f[5], f[6]]);
        return { kind, op, ...m };
      }
      case Op.Typing:
        return { kind, op, cid: n(1), users: f[2] as string[] };
      case Op.Reaction:
        return { kind, op, cid: n(1), seq: n(2), emoji: s(3), user: s(4), on: f[5] === 1 };
      case Op.PresenceState: {
        const members = (f[2] as unknown[]).map(tupleToPresence);
        return typeof f[3] === 'number' ? { kind, op, cid: n(1), members, online: f[3] } : { kind, op, cid: n(1), members };
      }
      case Op.PresenceDiff:
        return {
          kind,
          op,
          cid: n(1),
          joins: (f[2] as unknown[]).map(tupleToPresence),
          leaves: f[3] as string[],
        };
      case Op.Moderation:
        return {
          kind,
          op,
          cid: n(1),
          action: n(2),
          target: s(3),
          actor: s(4),
          until: (f[5] as number | null) ?? null,
          reason: (f[6] as string | null) ?? null,
        };
      case Op.Reconnect:
        return { kind, op, delayMs: n(1) };
    }
    // An event of a newer server that this version does not know: skipped, so the frames batched
    // with it (messages, acks) still arrive. Replies and errors answer our own requests: never new.
    return null;
  }
  if (kind === Kind.Reply) {
    const rid = n(1);
    switch (op) {
      case Op.Create:
        return { kind, op, rid, cid: n(2), name: s(3) };
      case Op.Join:
        return {
          kind,
          op,
          rid,
          cid: n(2),
          name: s(3),
          lastSeq: n(4),
          members: (f[5] as unknown[]).map(tupleToPresence),
          ...(typeof f[6] === 'number' ? { online: f[6] } : {}),
        };
      case Op.Leave:
      case Op.React:
      case Op.Unreact:
        return { kind, op, rid } as ServerFrame;
      case Op.List:
        return {
          kind,
          op,
          rid,
          channels: (f[2] as [number, string, number][]).map(([cid, name, members]) => ({ cid, name, members })),
          more: f[3] === 1,
        };
      case Op.Members:
        return {
          kind,
          op,
          rid,
          members: (f[2] as [string, number, number][]).map(([user, role, online]) => ({
            user,
            role,
            online: online === 1,
          })),
          // An older server sent every member and neither field.
          more: f[3] === 1,
          total: typeof f[4] === 'number' ? f[4] : (f[2] as unknown[]).length,
        };
      case Op.Message:
        return { kind, op, rid, seq: n(2), ts: n(3) };
      case Op.History: {
        const cid = n(2);
        return {
          kind,
          op,
          rid,
          cid,
          messages: (f[3] as unknown[]).map((t) => tupleToMessage(cid, t)),
          more: f[4] === 1,
        };
      }
      case Op.Command:
        return { kind, op, rid, text: s(2) };
    }
  }
  throw new Error(`unknown server frame type ${type}`);
}

const ok = <V>(value: V): { ok: true; value: V } => ({ ok: true, value });
function fail(code: number, message: string, rid: number, op: Op): { ok: false; error: DecodeError } {
  return { ok: false, error: { code, message, rid, op } };
}
