import { Kind, type Reply, type ServerFrame } from '@parley/protocol';
import { ParleyError, unavailable } from './errors.js';

type Answer = Extract<ServerFrame, { kind: typeof Kind.Reply | typeof Kind.Error }>;

interface Pending {
  resolve(reply: Reply): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Request ids, shared by every request kind so a rid always names one pending entry. */
export class RidSource {
  private last = 0;
  next(): number {
    // rid 0 means fire-and-forget and the wire allows up to 2^32-1.
    this.last = this.last >= 0xffff_fffe ? 1 : this.last + 1;
    return this.last;
  }
}

export function toError(f: Extract<ServerFrame, { kind: typeof Kind.Error }>): ParleyError {
  return new ParleyError(f.code, f.message, f.retryAfterMs);
}

/** Requests that fail when the connection drops (everything except sends). */
export class PendingRequests {
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly timeoutMs: number) {}

  track(rid: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(unavailable(`request timed out after ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(rid, { resolve, reject, timer });
    });
  }

  /** Settle the request this reply or error answers; false if it answers none of ours. */
  settle(f: Answer): boolean {
    const p = this.pending.get(f.rid);
    if (!p) return false;
    this.pending.delete(f.rid);
    clearTimeout(p.timer);
    if (f.kind === Kind.Error) p.reject(toError(f));
    else p.resolve(f);
    return true;
  }

  failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }
}
