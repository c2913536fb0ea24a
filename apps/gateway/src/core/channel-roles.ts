import type { Role } from '@parley/protocol';

/**
 * The channels one connection has joined, with its role in each: the few entries a connection
 * holds, as one flat array of (cid, role) pairs instead of a Map (whose hash table alone is ~150
 * bytes; this is ~40 bytes for two channels). Lookups scan, which beats hashing at these sizes.
 * Changes replace the array (joins and leaves are rare), so `cids()` is a stable snapshot.
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
    if (i < 0) this.pairs = [...this.pairs, cid, role];
    else if (this.pairs[i + 1] !== role) this.pairs = this.pairs.map((x, j) => (j === i + 1 ? role : x));
  }

  /** True if the connection was in the channel. */
  delete(cid: number): boolean {
    const i = this.indexOf(cid);
    if (i < 0) return false;
    this.pairs = this.pairs.filter((_, j) => j !== i && j !== i + 1);
    return true;
  }

  /** The channels, as a snapshot (safe to iterate while leaving them). */
  cids(): number[] {
    return this.pairs.filter((_, j) => j % 2 === 0);
  }

  private indexOf(cid: number): number {
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) if (p[i] === cid) return i;
    return -1;
  }
}
