import type { Appended, AppendInput, MessageStore } from '../ports/message-store.js';

interface Waiting {
  item: AppendInput;
  resolve: (a: Appended) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: sends that arrive while a transaction is in flight are queued and committed
 * together in the next one (at most `maxBatch` per transaction).
 *
 * Channels are spread over `lanes` (by cid); each lane has at most one transaction in flight, so
 * one channel's messages from this node are committed in arrival order while different channels
 * commit in parallel (a single lane leaves Postgres idle while the node prepares the next batch).
 */
export class GroupCommitter {
  private readonly lanes: Lane[];

  constructor(store: MessageStore, maxBatch: number, onBatch: (size: number) => void = () => {}, lanes = 4) {
    this.lanes = Array.from({ length: lanes }, () => new Lane(store, maxBatch, onBatch));
  }

  append(item: AppendInput): Promise<Appended> {
    return (this.lanes[item.cid % this.lanes.length] as Lane).append(item);
  }

  /** Resolves when everything queued so far is committed (drain). */
  async flush(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.flush()));
  }
}

class Lane {
  private queue: Waiting[] = [];
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly store: MessageStore,
    private readonly maxBatch: number,
    private readonly onBatch: (size: number) => void,
  ) {}

  append(item: AppendInput): Promise<Appended> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.inFlight) this.inFlight = this.run();
    });
  }

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
        for (const [i, w] of batch.entries()) w.resolve(results[i] as Appended);
      } catch (e) {
        if (batch.length === 1) (batch[0] as Waiting).reject(e);
        // One bad item (e.g. its channel was just deleted) must not fail everyone else's sends:
        // retry them one by one so only the bad one is refused — in order and before the next
        // batch, so each channel's seqs still follow arrival order.
        else {
          for (const w of batch) {
            try {
              w.resolve((await this.store.appendBatch([w.item]))[0] as Appended);
            } catch (one) {
              w.reject(one);
            }
          }
        }
      }
    }
    this.inFlight = null;
  }
}
