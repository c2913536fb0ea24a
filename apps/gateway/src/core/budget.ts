import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
/**
 * A budget for costly requests (history, members, list, join, create): each reads or writes the
 * database and may build a large reply, so a crowd of well-behaved clients — inside their rate
 * limits — can still queue more work than the node and its database pool can do, and everyone's
 * chat waits behind it (measured: 150 guests × 4 history requests/s held sends up for ~90 s).
 *
 * Two caps, both refusing at once rather than queueing (a queue would only move the wait, and
 * hold the work of sockets that close meanwhile):
 * - per connection: at most `perConn` in flight;
 * - per node: at most `perNode` in flight, kept at or below the database pool that serves them,
 *   so they never queue inside the driver either (sends commit on their own pool: compose.ts).
 * A refusal is error 401 Busy with a retry-after that grows with the crowd, jittered so refused
 * clients do not come back in step.
 */
export class RequestBudget {
  private inFlight = 0;

  constructor(
    private readonly perNode: number,
    private readonly perConn: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Null when granted (call `release` when done); else the ms to wait before retrying. */
  take(holder: { costly: number }): number | null {
    if (holder.costly >= this.perConn) return this.retryAfter(100);
    if (this.inFlight >= this.perNode) return this.retryAfter(250);
    holder.costly += 1;
    this.inFlight += 1;
    return null;
  }

  release(holder: { costly: number }): void {
    holder.costly -= 1;
    this.inFlight -= 1;
  }

  get used(): number {
    return this.inFlight;
  }

  private retryAfter(base: number): number {
    return Math.round(base + this.random() * base);
  }
}

/**
 * Event-loop stalls: frames a client sent while this node was not reading (a GC pause, a long
 * task, a stalled host) all arrive in one tick afterwards. Counting them against the client's
 * token bucket as if it had sent them in that tick punishes an honest client for the server's
 * stall, so a stall of S ms lets the frames read during and just after it draw on `ratePerS × S`
 * extra tokens (what the client may have sent meanwhile).
 *
 * A timer notes every turn of the loop; a frame read when the last turn is far behind is read in
 * a stall's backlog (the same poll phase that stalled), and a stall the timer saw end is
 * remembered for as long as it lasted (its backlog is read within about that long).
 */
export class StallClock {
  /**
   * How late each turn came, in µs (at least 1): the event-loop delay /metrics reports
   * (`parley_event_loop_delay_*`), read and reset at each scrape.
   */
  readonly delays: RecordableHistogram = createHistogram();
  private lastTurn: number;
  private lastStallMs = 0;
  private lastStallEnd = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs = 50,
    private readonly thresholdMs = 250,
    private readonly now: () => number = Date.now,
  ) {
    this.lastTurn = now();
  }

  start(): void {
    this.timer = setInterval(() => this.turn(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A turn of the event loop (the timer; tests call it directly). */
  turn(at = this.now()): void {
    const late = at - this.lastTurn - this.intervalMs;
    this.delays.record(Math.max(1, Math.round(late * 1000)));
    if (late > this.thresholdMs) {
      this.lastStallMs = late;
      this.lastStallEnd = at;
    }
    this.lastTurn = at;
  }

  /** The length in ms of the stall whose backlog is being read at `now`, or 0. */
  creditMs(now = this.now()): number {
    const ongoing = now - this.lastTurn - this.intervalMs;
    if (ongoing > this.thresholdMs) return ongoing;
    return now - this.lastStallEnd <= Math.max(this.lastStallMs, 1000) ? this.lastStallMs : 0;
  }
}
