/** Thrown by HashGate.run when its queue is full: the caller answers 503 + Retry-After. */
export class HashGateFull extends Error {
  constructor() {
    super('too many password checks in progress');
  }
}

/**
 * Password hashing (argon2id, sign-ups and logins) admitted a few at a time per node. Each hash
 * holds a libuv threadpool thread and a core for tens of milliseconds; unbounded, a flood of
 * sign-ups or logins (from many addresses, past the per-address buckets) fills the threadpool,
 * takes the cores from the event loop, and delays whatever else needs the pool (DNS lookups of
 * the Redis and Postgres hosts, file reads). At most `concurrency` run; up to `maxWaiting` more
 * wait in arrival order; beyond that `run` refuses at once (HashGateFull).
 */
export class HashGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
  ) {}

  /** In progress and waiting now (what the tests check). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) this.running += 1;
    else if (this.waiting.length >= this.maxWaiting) throw new HashGateFull();
    else await new Promise<void>((admit) => this.waiting.push(admit)); // the slot is handed over
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
