/**
 * The two frames every chat message costs the server: its event (encoded once, fanned out) and
 * the sender's ack. Written straight into a buffer instead of through the generic msgpack
 * Encoder (which walks the value, sizes strings in JS and copies the result out): the same bytes
 * (property-tested against the Encoder in codec.property.test.ts), a third of the CPU.
 *
 * Only non-negative safe integers and strings are written here: what these frames hold.
 */

const utf8 = new TextEncoder();

class Writer {
  readonly buf: Uint8Array;
  pos = 0;
  constructor(maxBytes: number) {
    this.buf = new Uint8Array(maxBytes);
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
    return this.buf.subarray(0, this.pos);
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
