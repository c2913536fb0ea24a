import { type Appended, type AppendInput, type MessageStore, StaleCheckError, UnknownChannelError } from '../ports/message-store.js';

const RATE_WINDOW_MS = 100;

/**
 * How a busy node's commit waits for company in the gateway by default (config.ts's defaults; a
 * GroupCommitter built without `maxWaitMs` never waits, and takes the other two from here): from 200
 * sends/s per lane, until the oldest send has waited 16 mean gaps, at most 40 ms. Measured against
 * 250 / 4 / 8 in one run each (bench/README.md, twelfth session): small rooms at 500–2,000 msg/s
 * 8–17 messages per commit instead of 2–5, machine CPU per message −26 to −48 %, p50 14–24 ms
 * instead of 5–7; fan-out (10 × 100) passed 250k deliveries/s where the old values failed 200k; at
 * 100 sends/s per node nothing waits either way.
 */
export const COMMIT_WAIT_DEFAULTS = { maxWaitMs: 40, lingerGaps: 16, busyRate: 200 } as const;
const NOTHING = (): void => {};
/** Rounds of rechecks for one batch before its stale items are refused (each round reads the record afresh). */
const MAX_RECHECKS = 3;

/**
 * The send fence refused `item` (StaleCheckError): check its sender again from the record and set
 * `item.checked` to what that read, or reject with the refusal the sender gets (muted, removed).
 */
export type Recheck = (item: AppendInput) => Promise<void>;

const NO_RECHECK: Recheck = async (item) => {
  throw new StaleCheckError([item.cid]);
};

/**
 * Where a send's outcome goes. The send path passes one sink for all its sends and the item
 * carries whatever the sink needs (the socket, the request id), so a queued send costs one object
 * rather than a promise, its resolving functions and an async continuation (GC was a fifth of a
 * busy gateway's CPU: bench/README.md).
 */
export interface CommitSink<T extends AppendInput> {
  committed(item: T, a: Appended): void;
  failed(item: T, err: unknown): void;
}

interface Waiting {
  item: AppendInput;
  /** performance.now() at arrival: a send waits for company at most `wait` from here. */
  at: number;
  sink: CommitSink<AppendInput>;
}

/** The sink behind `append`'s promise. */
class Deferred implements CommitSink<AppendInput> {
  constructor(
    private readonly resolve: (a: Appended) => void,
    private readonly reject: (e: unknown) => void,
  ) {}
  committed(_: AppendInput, a: Appended): void {
    this.resolve(a);
  }
  failed(_: AppendInput, err: unknown): void {
    this.reject(err);
  }
}

export interface CommitOptions {
  /** Most sends in one transaction. */
  maxBatch: number;
  /** Hears each batch's size as it leaves (a metric). */
  onBatch?: (size: number) => void;
  /** Transactions in flight at once (channels are spread over them by cid); default 1. */
  lanes?: number;
  /** The most a commit may wait for company (see Lane.run); 0 (the default) = never wait. */
  maxWaitMs?: number;
  /**
   * On a busy node a batch waits until its oldest send has waited this many mean gaps between
   * sends (capped at `maxWaitMs`): about that many more messages per commit. Default
   * COMMIT_WAIT_DEFAULTS.lingerGaps: a commit costs the gateway a Postgres round trip, a wakeup and a
   * broker call whatever it holds.
   */
  lingerGaps?: number;
  /**
   * Sends per second (per lane) from which the node counts as busy and a batch waits for company;
   * below it a send commits on the next tick. Default COMMIT_WAIT_DEFAULTS.busyRate. Apart from
   * `maxWaitMs`, so a longer cap does not make a quiet node wait: at a few sends per second per
   * node a commit is a small share of the node's CPU, and the wait would be pure latency.
   */
  busyRate?: number;
  /** What a send the fence refused goes through before it goes again (default: refused). */
  recheck?: Recheck;
}

/**
 * Group commit: sends that arrive while a transaction is in flight are queued and committed
 * together in the next one (at most `maxBatch` per transaction).
 *
 * Channels are spread over `lanes` (by cid); each lane has at most one transaction in flight, so
 * one channel's messages from this node are committed in arrival order. One lane (the default)
 * takes every channel's pending sends in one statement: the fewest commits per message, which is
 * what a message costs the database most at moderate rates (measured: bench/README.md); more lanes
 * let different channels commit in parallel, for a database with cores to spare.
 */
export class GroupCommitter {
  private readonly lanes: Lane[];

  constructor(store: MessageStore, o: CommitOptions) {
    const lane: LaneOptions = {
      maxBatch: o.maxBatch,
      onBatch: o.onBatch ?? NOTHING,
      maxWaitMs: o.maxWaitMs ?? 0,
      lingerGaps: o.lingerGaps ?? COMMIT_WAIT_DEFAULTS.lingerGaps,
      busyRate: o.busyRate ?? COMMIT_WAIT_DEFAULTS.busyRate,
      recheck: o.recheck ?? NO_RECHECK,
    };
    this.lanes = Array.from({ length: o.lanes ?? 1 }, () => new Lane(store, lane));
  }

  /** Queues `item`; `sink` hears once it is committed or refused. */
  enqueue<T extends AppendInput>(item: T, sink: CommitSink<T>): void {
    (this.lanes[item.cid % this.lanes.length] as Lane).enqueue(item, sink as CommitSink<AppendInput>);
  }

  append(item: AppendInput): Promise<Appended> {
    return new Promise((resolve, reject) => this.enqueue(item, new Deferred(resolve, reject)));
  }

  /** Resolves when everything queued so far is committed (drain). */
  async flush(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.flush()));
  }
}

type LaneOptions = Required<Omit<CommitOptions, 'lanes'>>;

class Lane {
  private queue: Waiting[] = [];
  private inFlight: Promise<void> | null = null;
  /** Sends per ms, smoothed over windows of RATE_WINDOW_MS: 1 / rate is the mean gap between sends. */
  private rate = 0;
  private windowStart = 0;
  private windowCount = 0;

  constructor(
    private readonly store: MessageStore,
    private readonly o: LaneOptions,
  ) {}

  enqueue(item: AppendInput, sink: CommitSink<AppendInput>): void {
    const at = performance.now();
    this.countArrival(at);
    this.queue.push({ item, at, sink });
    if (!this.inFlight) this.inFlight = this.run();
  }

  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  /**
   * How long a batch may wait for company now: on a busy node (at least `busyRate` sends/s),
   * `lingerGaps` mean gaps, at most `maxWaitMs`; else 0 (a quiet node never waits).
   */
  private waitMs(): number {
    const { maxWaitMs, lingerGaps, busyRate } = this.o;
    return this.rate > 0 && this.rate * 1000 >= busyRate ? Math.min(maxWaitMs, lingerGaps / this.rate) : 0;
  }

  /**
   * The arrival rate, counted per window rather than from gap to gap: senders often come in bursts
   * (several in one tick, then a pause), and a batch starts right after an arrival, when a smoothed
   * gap would read shortest; a count per window gives the mean rate whatever the burstiness.
   */
  private countArrival(now: number): void {
    const elapsed = now - this.windowStart;
    if (elapsed >= RATE_WINDOW_MS) {
      // Windows that passed without a send count as empty ones.
      const windows = Math.min(8, Math.floor(elapsed / RATE_WINDOW_MS));
      this.rate = (this.rate + this.windowCount / RATE_WINDOW_MS) / 2 / 2 ** (windows - 1);
      this.windowStart = now;
      this.windowCount = 0;
    }
    this.windowCount += 1;
  }

  private async run(): Promise<void> {
    // Let the current tick's sends join the first batch.
    await new Promise((r) => setImmediate(r));
    let settle = NOTHING;
    while (this.queue.length) {
      // A commit costs about the same for one message as for several: a round trip, a wakeup and a
      // WAL flush for Postgres, a wakeup and a broker call for the gateway (bench/README.md). So on
      // a busy node — at least `busyRate` sends/s — a batch waits for company
      // until its oldest send has waited `lingerGaps` mean gaps (at most `maxWaitMs`): about that
      // many more join it. Sends that queued behind a commit in flight have waited already and go
      // at once; on a quieter node nothing waits.
      const left = (this.queue[0] as Waiting).at + this.waitMs() - performance.now();
      if (left >= 0.5 && this.queue.length < this.o.maxBatch) {
        settle();
        settle = NOTHING;
        await new Promise((r) => setTimeout(r, left));
      }
      const batch = this.queue.splice(0, this.o.maxBatch);
      this.o.onBatch(batch.length);
      // The next batch is on its way to Postgres before the previous one's sends are settled (acked,
      // encoded, published): the database works on it while this node does that, instead of each
      // waiting for the other. Still one transaction in flight, so seqs follow arrival order; and
      // the previous batch is published before this one's reply can arrive (that takes I/O).
      const committing = this.commit(batch);
      settle();
      settle = await committing;
    }
    // Before inFlight is cleared, so a send queued by a settled one (a microtask, after this
    // returns) starts a new run.
    settle();
    this.inFlight = null;
  }

  /**
   * Commits one batch; resolves with what settles its sends (run calls it once the next batch is
   * on its way), or, when it failed, after settling them itself. One bad item (its channel was just
   * deleted) must not fail everyone else's: the store names the unknown channels, their sends are
   * refused, and the rest go again as one batch. Sends the fence refused (StaleCheckError: a kick,
   * mute or ban this node has not heard of yet) are checked again from the record (`recheck`) and
   * go again with the rest, or are refused. Any other failure is retried send by send, so only the bad ones
   * are refused. Either way in order and before the next batch, so each channel's seqs still
   * follow arrival order.
   */
  private async commit(batch: Waiting[], rechecks = 0): Promise<() => void> {
    let results: Appended[];
    try {
      results = await this.store.appendBatch(batch.map((w) => w.item));
    } catch (e) {
      if (e instanceof StaleCheckError && rechecks < MAX_RECHECKS) {
        const verdicts = await Promise.all(
          batch.map((w) =>
            e.cids.includes(w.item.cid)
              ? this.o.recheck(w.item).then(
                  () => null,
                  (err: unknown) => err ?? e,
                )
              : null,
          ),
        );
        const rest = batch.filter((w, i) => {
          const refusal = verdicts[i];
          if (refusal !== null) refuse(w, refusal);
          return refusal === null;
        });
        if (rest.length) (await this.commit(rest, rechecks + 1))();
      } else if (batch.length === 1) refuse(batch[0] as Waiting, e);
      else if (e instanceof UnknownChannelError && batch.some((w) => e.cids.includes(w.item.cid))) {
        const rest: Waiting[] = [];
        for (const w of batch) {
          if (e.cids.includes(w.item.cid)) refuse(w, new UnknownChannelError([w.item.cid]));
          else rest.push(w);
        }
        if (rest.length) (await this.commit(rest))();
      } else {
        for (const w of batch) (await this.commit([w]))();
      }
      return NOTHING;
    }
    return () => {
      for (let i = 0; i < batch.length; i++) {
        const w = batch[i] as Waiting;
        try {
          w.sink.committed(w.item, results[i] as Appended);
        } catch (err) {
          reportLater(err);
        }
      }
    };
  }
}

function refuse(w: Waiting, err: unknown): void {
  try {
    w.sink.failed(w.item, err);
  } catch (e) {
    reportLater(e);
  }
}

/**
 * A sink that throws is a bug; it must not keep the rest of the batch from settling, nor stop the
 * lane. It surfaces as an unhandled rejection (logged by main.ts, failing a test).
 */
function reportLater(err: unknown): void {
  void Promise.reject(err);
}
