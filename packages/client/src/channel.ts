import type { ChatMessage } from '@parley/protocol';

export interface HistoryChunk {
  messages: ChatMessage[];
  more: boolean;
}

export interface SequencerDeps {
  deliver(m: ChatMessage): void;
  /** One page of stored messages with seq > after, oldest first. */
  fetchAfter(cid: number, after: number): Promise<HistoryChunk>;
  /** Repair failed for a reason other than a lost connection. */
  error(err: unknown): void;
  reorderWindowMs: number;
}

/** Repairs that leave a gap open this many times in a row give up on it (see `repair`). */
const MAX_STALLS = 3;

/**
 * Per-channel delivery cursor. Live messages can arrive twice (resend, reconnect overlap), out of
 * order (different gateways) or not at all (shed, lost node); the app must see each seq once,
 * in order. `last` is the highest seq delivered.
 */
export class ChannelSequencer {
  /** Joined on the current connection; repairs need membership, so they wait for this. */
  ready = false;
  private readonly buffer = new Map<number, ChatMessage>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private repairing: Promise<void> | undefined;
  private again = false;
  private stalls = 0;
  private disposed = false;

  constructor(
    readonly name: string,
    public cid: number,
    public last: number,
    private readonly deps: SequencerDeps,
  ) {}

  get buffered(): number {
    return this.buffer.size;
  }

  /**
   * `authoritative` marks messages read from history with `after: last`: the store is the source
   * of truth for what exists, so a seq it skips is a hole, not a gap to wait for.
   */
  ingest(m: ChatMessage, authoritative = false): void {
    if (this.disposed || m.seq <= this.last) return;
    if (m.seq === this.last + 1 || authoritative) {
      this.buffer.delete(m.seq);
      this.emit(m);
      this.drain();
      return;
    }
    this.buffer.set(m.seq, m);
    this.arm();
  }

  /**
   * Fetch everything after `last` (paging) and deliver it; used on rejoin and when a gap persists.
   * A call during a repair makes it run once more and resolves when that pass is done.
   */
  repair(): Promise<void> {
    if (this.disposed || !this.ready) return Promise.resolve();
    if (this.repairing) {
      this.again = true;
      return this.repairing;
    }
    this.repairing = this.run().finally(() => {
      this.repairing = undefined;
    });
    return this.repairing;
  }

  private async run(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const start = this.last;
    try {
      do {
        this.again = false;
        let more = true;
        while (more && this.ready && !this.disposed) {
          const before = this.last;
          const page = await this.deps.fetchAfter(this.cid, before);
          const sorted = [...page.messages].sort((a, b) => a.seq - b.seq);
          for (const m of sorted) this.ingest(m, true);
          // Stop paging if the server gave nothing new, whatever `more` says: no busy loop.
          more = page.more && this.last > before;
        }
      } while (this.again && this.ready && !this.disposed);
    } catch (err) {
      // A lost connection ends the repair quietly: the rejoin after reconnect repairs again.
      if (this.ready && !this.disposed) this.deps.error(err);
    }
    if (this.disposed || this.buffer.size === 0) {
      this.stalls = 0;
      return;
    }
    if (!this.ready) return;
    // Still buffered past a gap that history could not fill. Usually the missing messages are
    // committed but not yet visible; after a few tries assume they never will be.
    this.stalls = this.last > start ? 0 : this.stalls + 1;
    if (this.stalls >= MAX_STALLS) {
      this.stalls = 0;
      this.skipGap();
    } else {
      this.arm();
    }
  }

  /** Connection lost: keep the cursor and buffer, stop timers until the rejoin. */
  suspend(): void {
    this.ready = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.disposed = true;
    this.suspend();
    this.buffer.clear();
  }

  private emit(m: ChatMessage): void {
    this.last = m.seq;
    this.deps.deliver(m);
  }

  private drain(): void {
    for (;;) {
      const next = this.buffer.get(this.last + 1);
      if (!next) break;
      this.buffer.delete(next.seq);
      this.emit(next);
    }
    for (const seq of this.buffer.keys()) if (seq <= this.last) this.buffer.delete(seq);
    if (this.buffer.size === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private skipGap(): void {
    const lowest = Math.min(...this.buffer.keys());
    const m = this.buffer.get(lowest);
    if (m) this.ingest(m, true);
  }

  private arm(): void {
    if (this.timer || !this.ready || this.disposed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.buffer.size > 0) void this.repair();
    }, this.deps.reorderWindowMs);
  }
}
