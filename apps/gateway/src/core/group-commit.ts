import type { AppendInput, Appended, MessageStore } from '../ports/message-store.js';

interface Waiting {
  item: AppendInput;
  resolve: (a: Appended) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: sends that arrive while a transaction is in flight are queued and committed
 * together in the next one (at most `maxBatch` per transaction). One transaction in flight per
 * node keeps a node's seqs in arrival order and turns N fsyncs into one.
 */
export class GroupCommitter {
  private queue: Waiting[] = [];
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly store: MessageStore,
    private readonly maxBatch: number,
    private readonly onBatch: (size: number) => void = () => {},
  ) {}

  append(item: AppendInput): Promise<Appended> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.inFlight) this.inFlight = this.run();
    });
  }

  /** Resolves when everything queued so far is committed (drain). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async run(): Promise<void> {
    // Let the current tick's sends join the first batch.
    await new Promise((r) => setImmediate(r));
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.onBatch(batch.length);
      try {
        const results = await this.store.appendBatch(batch.map((w) => w.item));
        batch.forEach((w, i) => w.resolve(results[i] as Appended));
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    }
    this.inFlight = null;
  }
}
