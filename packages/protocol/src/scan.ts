/**
 * A structural check of msgpack bytes, run before @msgpack/msgpack decodes them.
 *
 * Why: the Decoder allocates `new Array(n)` as soon as it reads an array header, with n from the
 * header (up to 2^32 − 1), and has no depth limit. 16 KiB of `0xdc 0xff 0xff` (array16 of 65,535,
 * nested 5,461 times) made it allocate 5,461 × 65,535 slots: a 5 s event-loop freeze and +2.7 GiB
 * RSS before it noticed the data ran out. Its `maxArrayLength`-style options are fixed per Decoder
 * (not per frame), are checked per header only, and there is no depth option, so they cannot
 * bound this; a walk over the headers can, in one pass, without allocating:
 *
 * - an array or map cannot have more elements than bytes remain after its header (each element
 *   takes at least one byte), so once the whole walk succeeds, the decoder's preallocations add
 *   up to at most one slot per byte of the frame;
 * - str, bin, int and float lengths must fit in the bytes that remain;
 * - nesting is limited (`MaxDepth`), from the deepest frame the protocol has;
 * - ext types (and the never-used 0xc1) are refused: the protocol uses none, and the default
 *   codec would turn ext −1 into a Date;
 * - the value(s) must end exactly at the end of the bytes (no truncation, no trailing bytes).
 *
 * A frame the walk accepts is well-formed msgpack of bounded size and depth; the Decoder still
 * does the decoding.
 */

/**
 * Maximum nesting, counting the frame's own array as 1. Requests are flat arrays (depth 1); 2
 * more levels leave room for a future request op with a nested field (so an older server answers
 * it 101 UnknownType, not 100). The deepest server frame is the History reply with reactions
 * (frame → messages → message → reactions → reaction → users: 6); 2 more levels for optional
 * trailing fields a newer server may add.
 */
export const MaxDepth = { request: 3, server: 8 } as const;

/** Open containers' remaining element counts; never deeper than the largest MaxDepth. */
const pending = new Float64Array(MaxDepth.server);

/**
 * Checks the msgpack value starting at `start` (or, with `multi`, the values back to back up to
 * the end; none at all is fine) and returns null when it may be decoded, or why it may not.
 */
export function scanMsgpack(bytes: Uint8Array, start: number, maxDepth: number, multi: boolean): string | null {
  const end = bytes.length;
  let pos = start;
  let depth = 0;
  if (multi && pos === end) return null;
  for (;;) {
    if (pos >= end) return 'truncated';
    const h = bytes[pos++] as number;
    let items = -1; // elements of an array or map (a map's pairs count twice); -1: not a container
    let skip = 0; // bytes of payload after the header
    if (h < 0x80 || h >= 0xe0) {
      // positive and negative fixint
    } else if (h < 0x90) items = (h & 0x0f) * 2;
    else if (h < 0xa0) items = h & 0x0f;
    else if (h < 0xc0) skip = h & 0x1f;
    else {
      // Width of the length field that follows the header byte, if any.
      let lenBytes = 0;
      switch (h) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          break;
        case 0xcc:
        case 0xd0:
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xc4: // bin8
        case 0xd9: // str8
          lenBytes = 1;
          break;
        case 0xc5: // bin16
        case 0xda: // str16
        case 0xdc: // array16
        case 0xde: // map16
          lenBytes = 2;
          break;
        case 0xc6: // bin32
        case 0xdb: // str32
        case 0xdd: // array32
        case 0xdf: // map32
          lenBytes = 4;
          break;
        default:
          // 0xc1 (never used) and ext (0xc7–0xc9, 0xd4–0xd8).
          return h === 0xc1 ? 'invalid byte 0xc1' : 'ext types are not used';
      }
      if (lenBytes > 0) {
        if (end - pos < lenBytes) return 'truncated';
        let n = bytes[pos] as number;
        if (lenBytes === 2) n = (n << 8) | (bytes[pos + 1] as number);
        else if (lenBytes === 4) {
          n = n * 0x100_0000 + (((bytes[pos + 1] as number) << 16) | ((bytes[pos + 2] as number) << 8) | (bytes[pos + 3] as number));
        }
        pos += lenBytes;
        if (h >= 0xdc) items = h >= 0xde ? n * 2 : n;
        else skip = n;
      }
    }
    if (skip > 0) {
      if (skip > end - pos) return 'a length runs past the end of the frame';
      pos += skip;
    }
    if (items >= 0) {
      if (depth === maxDepth) return 'nested too deep';
      if (items > end - pos) return 'an array or map has more elements than the frame has bytes';
      if (items > 0) {
        pending[depth++] = items;
        continue;
      }
    }
    // A value is complete: it fills one slot of the innermost open container, which may complete it.
    while (depth > 0) {
      const left = (pending[depth - 1] as number) - 1;
      if (left > 0) {
        pending[depth - 1] = left;
        break;
      }
      depth--;
    }
    if (depth === 0) {
      if (pos === end) return null;
      if (!multi) return 'trailing bytes';
    }
  }
}
