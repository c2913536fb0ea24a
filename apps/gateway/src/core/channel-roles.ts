import type { Role } from '@parley/protocol';

/**
 * The channels one connection has joined, with its role in each: the few entries a connection
 * holds, as one flat array of (cid, role) pairs instead of a Map (whose hash table alone is ~150
 * bytes; this is ~40 bytes for two channels). Lookups scan, which beats hashing at these sizes.
 * Changes replace the array (joins and leaves are rare) with one of exactly the size needed (a
 * spread or `filter` would leave room for ~20 more entries: 4× the memory).
 */
export class ChannelRoles {
  private pairs: readonly number[] = [];

  get size(): number {
    return this.pairs.length / 2;
  }

  has(cid: number): boolean {
    return this.indexOf(cid) >= 0;
  }

  get(cid: number): Role | undefined {
    const i = this.indexOf(cid);
    return i < 0 ? undefined : (this.pairs[i + 1] as Role);
  }

  set(cid: number, role: Role): void {
    const i = this.indexOf(cid);
    if (i < 0) this.pairs = resized(this.pairs, -1, [cid, role]);
    else if (this.pairs[i + 1] !== role) {
      const next = this.pairs.slice();
      next[i + 1] = role;
      this.pairs = next;
    }
  }

  /** True if the connection was in the channel. */
  delete(cid: number): boolean {
    const i = this.indexOf(cid);
    if (i < 0) return false;
    this.pairs = resized(this.pairs, i, []);
    return true;
  }

  /** The channels, as a snapshot (safe to iterate while leaving them). */
  cids(): number[] {
    const out = new Array<number>(this.size);
    for (let j = 0; j < out.length; j++) out[j] = this.pairs[2 * j] as number;
    return out;
  }

  private indexOf(cid: number): number {
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) if (p[i] === cid) return i;
    return -1;
  }
}

/** `pairs` without the pair at index `drop` (-1: none), then `add`, in an array of exactly that length. */
function resized(pairs: readonly number[], drop: number, add: readonly number[]): number[] {
  const out = new Array<number>(pairs.length - (drop >= 0 ? 2 : 0) + add.length);
  let j = 0;
  for (let i = 0; i < pairs.length; i++) if (drop < 0 || (i !== drop && i !== drop + 1)) out[j++] = pairs[i] as number;
  for (const x of add) out[j++] = x;
  return out;
}
