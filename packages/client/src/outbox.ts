import { Kind, Op, type ServerFrame } from '@parley/protocol';
import { unavailable } from './errors.js';
import { toError } from './requests.js';
import type { SendResult } from './types.js';

type Answer = Extract<ServerFrame, { kind: typeof Kind.Reply | typeof Kind.Error }>;

export interface OutgoingMessage {
  channel: string;
  text: string;
  /** Stays the same across every retransmission, so the server stores the message once. */
  cmid: string;
  resolve(r: SendResult): void;
  reject(err: Error): void;
  /** rid of the transmission in flight; 0 = waiting to be (re)sent. */
  rid: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Sends that have not been acknowledged yet, in the order the app issued them. Unlike other
 * requests they survive disconnects: whatever is not acked is transmitted again after the
 * channel is rejoined, with its original cmid.
 */
export class Outbox {
  private readonly items: OutgoingMessage[] = [];
  private readonly inFlight = new Map<number, OutgoingMessage>();

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.items.length;
  }

  add(m: OutgoingMessage): void {
    this.items.push(m);
  }

  /** Messages of `channel` waiting for a transmission, oldest first. */
  waiting(channel: string): OutgoingMessage[] {
    return this.items.filter((m) => m.channel === channel && m.rid === 0);
  }

  hasWaiting(channel: string): boolean {
    return this.items.some((m) => m.channel === channel && m.rid === 0);
  }

  /** Record that `m` went out as request `rid`; an ack must follow within the timeout. */
  sent(m: OutgoingMessage, rid: number): void {
    m.rid = rid;
    this.inFlight.set(rid, m);
    m.timer = setTimeout(() => {
      this.remove(m);
      m.reject(unavailable(`send not acknowledged after ${this.timeoutMs} ms`));
    }, this.timeoutMs);
  }

  settle(f: Answer): boolean {
    const m = this.inFlight.get(f.rid);
    if (!m) return false;
    this.remove(m);
    if (f.kind === Kind.Error) m.reject(toError(f));
    else if (f.op === Op.Message) m.resolve({ seq: f.seq, ts: f.ts });
    else m.reject(new Error(`unexpected reply op ${f.op} to a send`));
    return true;
  }

  /** The connection dropped: nothing in flight will be acked on it, so everything waits again. */
  requeue(): void {
    for (const m of this.inFlight.values()) {
      clearTimeout(m.timer);
      m.timer = undefined;
      m.rid = 0;
    }
    this.inFlight.clear();
  }

  rejectWhere(pred: (m: OutgoingMessage) => boolean, err: Error): void {
    for (const m of this.items.filter(pred)) {
      this.remove(m);
      m.reject(err);
    }
  }

  private remove(m: OutgoingMessage): void {
    clearTimeout(m.timer);
    if (m.rid) this.inFlight.delete(m.rid);
    const i = this.items.indexOf(m);
    if (i >= 0) this.items.splice(i, 1);
  }
}
