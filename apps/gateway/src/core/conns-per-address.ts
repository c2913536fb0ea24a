/**
 * Open connections per client address on this node, capped: one address (a NAT, or someone
 * opening sockets by the thousand) must not hold every socket the node has. `max` 0 = no cap.
 * Addresses are counted only while they have connections (an entry is dropped at zero).
 */
export class ConnsPerAddress {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Counts one more connection from `addr`; false (nothing counted) when it already holds `max`. */
  open(addr: string): boolean {
    if (!addr) return true;
    const n = this.counts.get(addr) ?? 0;
    if (this.max > 0 && n >= this.max) return false;
    this.counts.set(addr, n + 1);
    return true;
  }

  /** A connection counted by `open` ended. */
  close(addr: string): void {
    if (!addr) return;
    const n = (this.counts.get(addr) ?? 0) - 1;
    if (n > 0) this.counts.set(addr, n);
    else this.counts.delete(addr);
  }

  /** Connections from `addr` now. */
  of(addr: string): number {
    return this.counts.get(addr) ?? 0;
  }

  /** Addresses with connections now. */
  get size(): number {
    return this.counts.size;
  }
}
