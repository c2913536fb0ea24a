/**
 * The two frames every chat message costs the server: its event (encoded once, fanned out) and
 * the sender's ack. Written straight into a buffer instead of through the generic msgpack
 * Encoder (which walks the value, sizes strings in JS and copies the result out): the same bytes
 * (property-tested against the Encoder in codec.property.test.ts), a third of the CPU.
 *
 * Only non-negative safe integers and strings are written here: what these frames hold.
 */

const utf8 = new TextEncoder();

// One scratch buffer for every frame (written synchronously, then copied out at its exact size):
// a frame costs one small allocation instead of a zero-filled worst-case buffer plus a view of it.
let scratch = new Uint8Array(1024);

class Writer {
  readonly buf: Uint8Array;
  pos = 0;
  constructor(maxBytes: number) {
    if (scratch.length < maxBytes) scratch = new Uint8Array(Math.max(maxBytes, 2 * scratch.length));
    this.buf = scratch;
  }

  private u32(n: number, at: number): void {
    const b = this.buf;
    b[at] = n >>> 24;
    b[at + 1] = (n >>> 16) & 0xff;
    b[at + 2] = (n >>> 8) & 0xff;
    b[at + 3] = n & 0xff;
  }

  /** msgpack's shortest form of an unsigned integer, as @msgpack/msgpack writes it. */
  uint(n: number): void {
    const b = this.buf;
    if (n < 0x80) b[this.pos++] = n;
    else if (n < 0x100) {
      b[this.pos++] = 0xcc;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = 0xcd;
      b[this.pos++] = n >>> 8;
      b[this.pos++] = n & 0xff;
    } else if (n < 0x1_0000_0000) {
      b[this.pos++] = 0xce;
      this.u32(n, this.pos);
      this.pos += 4;
    } else {
      b[this.pos++] = 0xcf;
      this.u32(Math.floor(n / 0x1_0000_0000), this.pos);
      this.u32(n >>> 0, this.pos + 4);
      this.pos += 8;
    }
  }

  /** A str8/16/32 or fixstr. ASCII is copied in a loop; anything else goes through TextEncoder. */
  str(s: string): void {
    const b = this.buf;
    // Room for the longest header the string could need (3 bytes per UTF-16 unit at most);
    // moved back below when the real byte length needs a shorter one.
    const maxLen = s.length * 3;
    const room = maxLen < 32 ? 1 : maxLen < 0x100 ? 2 : maxLen < 0x10000 ? 3 : 5;
    const start = this.pos + room;
    let len = 0;
    const n = s.length;
    for (; len < n; len++) {
      const c = s.charCodeAt(len);
      if (c >= 0x80) break;
      b[start + len] = c;
    }
    if (len < n) len = utf8.encodeInto(s, b.subarray(start)).written;
    const header = len < 32 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
    if (header !== room) b.copyWithin(this.pos + header, start, start + len);
    const h = this.pos;
    if (header === 1) b[h] = 0xa0 | len;
    else if (header === 2) {
      b[h] = 0xd9;
      b[h + 1] = len;
    } else if (header === 3) {
      b[h] = 0xda;
      b[h + 1] = len >>> 8;
      b[h + 2] = len & 0xff;
    } else {
      b[h] = 0xdb;
      this.u32(len, h + 1);
    }
    this.pos += header + len;
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

const strMax = (s: string) => 5 + s.length * 3;

/** [type, cid, seq, user, text, ts] — a chat message event without reactions. */
export function writeMessageEvent(type: number, cid: number, seq: number, user: string, text: string, ts: number): Uint8Array {
  const w = new Writer(1 + 4 * 9 + strMax(user) + strMax(text));
  w.buf[w.pos++] = 0x96; // fixarray of 6
  w.uint(type);
  w.uint(cid);
  w.uint(seq);
  w.str(user);
  w.str(text);
  w.uint(ts);
  return w.done();
}

/** [type, rid, seq, ts] — the ack of a send. */
export function writeMessageAck(type: number, rid: number, seq: number, ts: number): Uint8Array {
  const w = new Writer(1 + 4 * 9);
  w.buf[w.pos++] = 0x94; // fixarray of 4
  w.uint(type);
  w.uint(rid);
  w.uint(seq);
  w.uint(ts);
  return w.done();
}

// ---------- reading: the send request ----------

// Strict: a malformed sequence throws (the caller then takes the generic path, which decides as it
// always has). A leading U+FEFF is kept or dropped as the generic decoder (@msgpack/msgpack 3)
// does: kept in strings of up to 200 bytes (its JS decoder), dropped from longer ones (its
// TextDecoder). One rule for both paths, so a message reads the same live and in history.
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8StrictLong = new TextDecoder('utf-8', { fatal: true });
const TEXT_DECODER_THRESHOLD = 200;
const NOT = -1;
let at = 0; // read position in the frame being read (reads never interleave: all synchronous)

/** An unsigned integer in any msgpack uint width; NOT for anything else or one beyond 2^53. */
function readUint(b: Uint8Array): number {
  const h = b[at];
  if (h === undefined) return NOT;
  if (h < 0x80) {
    at += 1;
    return h;
  }
  const p = at + 1;
  let n: number;
  let size: number;
  if (h === 0xcc) {
    size = 1;
    n = b[p] as number;
  } else if (h === 0xcd) {
    size = 2;
    n = ((b[p] as number) << 8) | (b[p + 1] as number);
  } else if (h === 0xce) {
    size = 4;
    n = (b[p] as number) * 0x100_0000 + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number));
  } else if (h === 0xcf) {
    size = 8;
    const hi = (b[p] as number) * 0x100_0000 + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number));
    if (hi > 0x1f_ffff) return NOT;
    const lo = (b[p + 4] as number) * 0x100_0000 + (((b[p + 5] as number) << 16) | ((b[p + 6] as number) << 8) | (b[p + 7] as number));
    n = hi * 0x1_0000_0000 + lo;
  } else return NOT;
  if (p + size > b.length) return NOT;
  at = p + size;
  return n;
}

/** A msgpack str decoded as strict UTF-8; undefined for anything else (nil included). */
function readStr(b: Uint8Array): string | undefined {
  const h = b[at] as number;
  let len: number;
  let start: number;
  if ((h & 0xe0) === 0xa0) {
    len = h & 0x1f;
    start = at + 1;
  } else if (h === 0xd9) {
    len = b[at + 1] as number;
    start = at + 2;
  } else if (h === 0xda) {
    len = ((b[at + 1] as number) << 8) | (b[at + 2] as number);
    start = at + 3;
  } else if (h === 0xdb) {
    len = (b[at + 1] as number) * 0x100_0000 + (((b[at + 2] as number) << 16) | ((b[at + 3] as number) << 8) | (b[at + 4] as number));
    start = at + 5;
  } else return undefined;
  const end = start + len;
  if (end > b.length) return undefined;
  at = end;
  try {
    return (len > TEXT_DECODER_THRESHOLD ? utf8StrictLong : utf8Strict).decode(b.subarray(start, end));
  } catch {
    return undefined;
  }
}

/**
 * A send request ([type, rid, cid, text] or [..., cmid | nil]) read straight from its bytes: no
 * generic Decoder (which builds each string from a JS array of code units) and no pre-scan, since
 * this reader never allocates more than the frame holds. `fields` receives rid, cid, text, cmid
 * and returns the request; null whenever the frame is anything else, in any detail — the caller
 * then decodes it the generic way, which also words the error.
 */
export function readMessageRequest<R>(
  bytes: Uint8Array,
  type: number,
  fields: (rid: number, cid: number, text: string, cmid: string | null) => R | null,
): R | null {
  const h = bytes[0];
  if (h !== 0x94 && h !== 0x95) return null;
  at = 1;
  if (readUint(bytes) !== type) return null;
  const rid = readUint(bytes);
  const cid = readUint(bytes);
  if (rid === NOT || cid === NOT) return null;
  const text = readStr(bytes);
  if (text === undefined) return null;
  let cmid: string | null = null;
  if (h === 0x95) {
    if (bytes[at] === 0xc0) at += 1;
    else {
      const s = readStr(bytes);
      if (s === undefined) return null;
      cmid = s;
    }
  }
  return at === bytes.length ? fields(rid, cid, text, cmid) : null;
}

// ---------- reading: what a chat client receives most ----------

/**
 * The frames a client receives most — chat message events without reactions ([type, cid, seq,
 * user, text, ts]) and send acks ([type, rid, seq, ts]) — alone or as a batch (`batchType`, then
 * frames back to back), read straight from their bytes. `event` and `ack` build each frame.
 * `rest` is where the first frame that is something else (in any detail) starts: the caller
 * decodes from there the generic way, so a batch that mixes a message with, say, a typing event
 * is not read twice. Null when nothing could be read this way (not even the first frame). At a
 * few hundred thousand deliveries per second a receiver's decode is most of what a client costs
 * (bench/README.md).
 */
export function readHotServerFrames<F>(
  bytes: Uint8Array,
  types: { batch: number; event: number; ack: number },
  event: (cid: number, seq: number, user: string, text: string, ts: number) => F,
  ack: (rid: number, seq: number, ts: number) => F,
): { frames: F[]; rest: number } | null {
  const out: F[] = [];
  const batch = bytes[0] === types.batch;
  const first = batch ? 1 : 0;
  at = first;
  do {
    const start = at;
    if (!readHotFrame(bytes, types, event, ack, out)) {
      // Only whole frames are kept: the generic way takes over where this one starts.
      return batch && start > first ? { frames: out, rest: start } : null;
    }
  } while (batch && at < bytes.length);
  if (at === bytes.length) return { frames: out, rest: at };
  return null;
}

/** One hot frame at `at` into `out`; false (nothing added) when it is anything else. */
function readHotFrame<F>(
  bytes: Uint8Array,
  types: { event: number; ack: number },
  event: (cid: number, seq: number, user: string, text: string, ts: number) => F,
  ack: (rid: number, seq: number, ts: number) => F,
  out: F[],
): boolean {
  const h = bytes[at];
  at += 1;
  if (h === 0x96) {
    if (readUint(bytes) !== types.event) return false;
    const cid = readUint(bytes);
    const seq = readUint(bytes);
    if (cid === NOT || seq === NOT) return false;
    const user = readStr(bytes);
    if (user === undefined) return false;
    const text = readStr(bytes);
    if (text === undefined) return false;
    const ts = readUint(bytes);
    if (ts === NOT) return false;
    out.push(event(cid, seq, user, text, ts));
    return true;
  }
  if (h === 0x94) {
    if (readUint(bytes) !== types.ack) return false;
    const rid = readUint(bytes);
    const seq = readUint(bytes);
    const ts = readUint(bytes);
    if (rid === NOT || seq === NOT || ts === NOT) return false;
    out.push(ack(rid, seq, ts));
    return true;
  }
  return false;
}
