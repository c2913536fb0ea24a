import type uWS from 'uWebSockets.js';
import { encodeBatch } from '@parley/protocol';
import type { Metrics } from '../metrics.js';
import type { Broker, Retained } from '../ports/broker.js';
import type { Conn } from './conn.js';

/**
 * Local fan-out, plus the bridge to other nodes through the Broker.
 *
 * - Frames are encoded ONCE at the origin. What this node publishes for a channel within one
 *   event-loop tick leaves for the other nodes on the next tick as one batch (one broker publish
 *   per channel per tick, never held back by a window).
 * - Local delivery is coalesced per channel: this node's own frames and the batches received from
 *   other nodes, in arrival order, become one batch frame per recipient. Without a window
 *   (`coalesceMs` = 0) a channel's local batch leaves on the next tick; with one, a channel that
 *   delivered within the window waits for the window's end, so a busy channel costs one socket
 *   write per recipient per window whichever node its events came from, while a channel quiet for
 *   the window still goes out on the next tick (a busy channel never delays a quiet one, and an
 *   event crosses at most one window however many nodes it crosses).
 * - Durable frames (chat messages, reactions) go through uWS topics (native fan-out).
 *   Ephemeral frames (typing, presence) are sent per socket and skipped for any socket whose
 *   send buffer is above `shedBytes`: they are shed before chat messages ever are.
 * - Moderation events (direct) are never windowed: the channel's pending batch goes first, then the
 *   event, socket by socket.
 * - After each delivery, sockets whose buffer exceeds `maxBackpressure` are closed with 4101
 *   (SlowConsumer); the SDK reconnects and resumes from its last seq, so nothing is lost.
 */
const DURABLE = 0;
const EPHEMERAL = 1;
const DIRECT = 2;

interface Pending {
  /** This node's frames not yet forwarded to the other nodes (next tick). */
  outDurable: Uint8Array[];
  /** The chat messages among them: kept in the broker's recent window by the same publish. */
  outRetain: Retained[];
  outEphemeral: Uint8Array[];
  /** Latest typing frame only: typing is coalesced to one per channel per tick. */
  typing: Uint8Array | null;
  /** What local sockets get at `dueAt`: own frames and peers' batches, in arrival order. */
  durable: Uint8Array[];
  ephemeral: Uint8Array[];
  /**
   * Durable frames sent socket by socket instead of through a uWS topic. uWS drains topic
   * publishes at the end of the loop iteration, so a socket removed in between (the target of a
   * kick) would miss them; moderation events must reach their target.
   */
  direct: Uint8Array[];
  /** When the local batch is to leave (performance.now() time; 0 = next tick). */
  dueAt: number;
}

export const channelTopic = (cid: number) => `c:${cid}`;

export class Hub {
  private readonly local = new Map<number, Set<uWS.WebSocket<Conn>>>();
  private readonly pending = new Map<number, Pending>();
  /** Channels with frames of this node to forward on the next tick. */
  private readonly outgoing = new Set<number>();
  /** The earliest `dueAt` among pending channels (a lower bound: exact after each full pass). */
  private nextDue = Number.POSITIVE_INFINITY;
  private immediate: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  /** With a window: when each channel's local batch last left (entries older than the window are swept). */
  private readonly lastFlush = new Map<number, number>();
  private sweepAt = 1024;
  private readonly flushDueNow = () => this.flushDue();

  constructor(
    private readonly app: uWS.TemplatedApp,
    private readonly broker: Broker,
    private readonly metrics: Metrics,
    private readonly opts: { shedBytes: number; maxBackpressure: number; coalesceMs: number },
    private readonly onBrokerError: (err: unknown) => void,
    /** Closes a socket whose send buffer is over `maxBackpressure` (Chat.slowConsumer: 4101). */
    private readonly onSlowConsumer: (ws: uWS.WebSocket<Conn>) => void,
  ) {}

  /** Called for every broker message on a channel topic: bytes = [flag byte][frame or batch]. */
  deliverRemote(cid: number, bytes: Uint8Array): void {
    if (!this.local.has(cid)) return;
    const payload = bytes.subarray(1);
    if (bytes[0] === EPHEMERAL) this.localDue(cid).ephemeral.push(payload);
    else if (bytes[0] === DURABLE) this.localDue(cid).durable.push(payload);
    else {
      // Moderation events now (the control message that removes their target may come next),
      // after what this channel was still holding, so they keep their place in the stream.
      this.flushChannel(cid);
      this.sendEach(cid, payload, false);
      this.checkBackpressure(cid);
    }
  }

  join(cid: number, ws: uWS.WebSocket<Conn>): void {
    let set = this.local.get(cid);
    if (!set) {
      this.local.set(cid, (set = new Set()));
      this.broker.subscribe(channelTopic(cid)).catch(this.onBrokerError);
    }
    set.add(ws);
    ws.subscribe(channelTopic(cid));
  }

  leave(cid: number, ws: uWS.WebSocket<Conn>, socketOpen: boolean): void {
    const set = this.local.get(cid);
    if (!set?.delete(ws)) return;
    if (socketOpen) ws.unsubscribe(channelTopic(cid));
    if (set.size === 0) {
      this.local.delete(cid);
      this.broker.unsubscribe(channelTopic(cid)).catch(this.onBrokerError);
    }
  }

  localMembers(cid: number): ReadonlySet<uWS.WebSocket<Conn>> {
    return this.local.get(cid) ?? new Set();
  }

  publish(cid: number, frame: Uint8Array): void {
    const p = this.own(cid);
    p.outDurable.push(frame);
    p.durable.push(frame);
  }
  /** A committed chat message (`frame` = its Message event): published, and retained for resume. */
  publishMessage(cid: number, seq: number, frame: Uint8Array): void {
    const p = this.own(cid);
    p.outDurable.push(frame);
    p.outRetain.push({ seq, frame });
    p.durable.push(frame);
  }
  publishEphemeral(cid: number, frame: Uint8Array): void {
    const p = this.own(cid);
    p.outEphemeral.push(frame);
    p.ephemeral.push(frame);
  }
  publishTyping(cid: number, frame: Uint8Array): void {
    this.own(cid).typing = frame;
  }
  publishDirect(cid: number, frame: Uint8Array): void {
    const p = this.slot(cid);
    p.direct.push(frame);
    this.due(p, 0);
  }

  /** Flush everything now (moderation, drain, tests), whatever the windows. */
  flush(): void {
    this.cancelScheduled();
    const work = [...this.pending];
    this.pending.clear();
    this.outgoing.clear();
    this.nextDue = Number.POSITIVE_INFINITY;
    const now = performance.now();
    for (const [cid, p] of work) {
      this.forwardOwn(cid, p);
      this.deliverLocal(cid, p, now);
    }
  }

  /** One channel's pending frames, now. */
  private flushChannel(cid: number): void {
    const p = this.pending.get(cid);
    if (!p) return;
    this.pending.delete(cid);
    this.outgoing.delete(cid);
    this.forwardOwn(cid, p);
    this.deliverLocal(cid, p, performance.now());
  }

  /** The scheduled flush: every channel's own frames to the other nodes; local batches that are due. */
  private flushDue(): void {
    this.cancelScheduled();
    for (const cid of this.outgoing) {
      const p = this.pending.get(cid);
      if (p) this.forwardOwn(cid, p);
    }
    this.outgoing.clear();
    const now = performance.now();
    if (this.nextDue > now + 0.5) {
      this.schedule(this.nextDue);
      return;
    }
    let next = Number.POSITIVE_INFINITY;
    for (const [cid, p] of this.pending) {
      if (p.dueAt <= now + 0.5) {
        this.pending.delete(cid); // deleting the current entry while iterating a Map is safe
        this.deliverLocal(cid, p, now);
      } else if (p.dueAt < next) next = p.dueAt;
    }
    this.nextDue = next;
    if (next !== Number.POSITIVE_INFINITY) this.schedule(next);
  }

  private forwardOwn(cid: number, p: Pending): void {
    if (p.typing) {
      p.outEphemeral.push(p.typing);
      p.ephemeral.push(p.typing);
      p.typing = null;
    }
    if (p.outDurable.length) {
      this.forward(cid, DURABLE, encodeBatch(p.outDurable), p.outRetain.length ? p.outRetain : undefined);
      p.outDurable = [];
      if (p.outRetain.length) p.outRetain = [];
    }
    if (p.outEphemeral.length) {
      this.forward(cid, EPHEMERAL, encodeBatch(p.outEphemeral));
      p.outEphemeral = [];
    }
  }

  private deliverLocal(cid: number, p: Pending, now: number): void {
    if (this.opts.coalesceMs > 0 && (p.durable.length || p.ephemeral.length)) this.lastFlush.set(cid, now);
    const members = this.localMembers(cid).size;
    if (members && p.durable.length) {
      this.app.publish(channelTopic(cid), encodeBatch(p.durable), true);
      this.metrics.framesOut.inc('durable', members);
    }
    if (p.direct.length) {
      const batch = encodeBatch(p.direct);
      this.sendEach(cid, batch, false);
      this.forward(cid, DIRECT, batch);
    }
    if (members && p.ephemeral.length) this.sendEach(cid, encodeBatch(p.ephemeral), true);
    if (members) this.checkBackpressure(cid);
  }

  /** The channel's entry for a frame of this node: forwarded next tick, delivered locally when due. */
  private own(cid: number): Pending {
    const p = this.localDue(cid);
    if (!this.outgoing.has(cid)) {
      this.outgoing.add(cid);
      this.immediate ??= setImmediate(this.flushDueNow);
    }
    return p;
  }

  /** The channel's entry, due now (0) unless its last local batch left within the window. */
  private localDue(cid: number): Pending {
    const p = this.slot(cid);
    if (this.opts.coalesceMs <= 0) this.due(p, 0);
    else {
      const last = this.lastFlush.get(cid);
      this.due(p, last === undefined ? 0 : last + this.opts.coalesceMs);
    }
    return p;
  }

  private slot(cid: number): Pending {
    let p = this.pending.get(cid);
    if (!p) {
      p = {
        outDurable: [],
        outRetain: [],
        outEphemeral: [],
        typing: null,
        durable: [],
        ephemeral: [],
        direct: [],
        dueAt: Number.POSITIVE_INFINITY,
      };
      this.pending.set(cid, p);
    }
    return p;
  }

  /** What is due sooner takes the channel's frames with it. */
  private due(p: Pending, at: number): void {
    if (at >= p.dueAt) return;
    p.dueAt = at;
    if (at < this.nextDue) this.nextDue = at;
    this.schedule(at);
  }

  private schedule(due: number): void {
    const wait = due - performance.now();
    if (wait < 1) {
      this.immediate ??= setImmediate(this.flushDueNow);
      return;
    }
    if (due >= this.timerAt) return; // a flush at or before then is already set
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = due;
    this.timer = setTimeout(this.flushDueNow, wait);
  }

  private cancelScheduled(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = null;
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.lastFlush.size > this.sweepAt) this.sweepLastFlushes();
  }

  /** Forgets channels quiet for longer than the window (they flush at once anyway): amortised O(1). */
  private sweepLastFlushes(): void {
    const quietBefore = performance.now() - this.opts.coalesceMs;
    for (const [cid, t] of this.lastFlush) if (t < quietBefore) this.lastFlush.delete(cid);
    this.sweepAt = Math.max(1024, 2 * this.lastFlush.size);
  }

  private forward(cid: number, flag: number, batch: Uint8Array, retain?: Retained[]): void {
    const bytes = new Uint8Array(batch.byteLength + 1);
    bytes[0] = flag;
    bytes.set(batch, 1);
    this.broker.publish(channelTopic(cid), bytes, retain && { cid, frames: retain }).catch(this.onBrokerError);
  }

  private sendEach(cid: number, batch: Uint8Array, shed: boolean): void {
    let sent = 0;
    for (const ws of this.localMembers(cid)) {
      if (shed && ws.getBufferedAmount() > this.opts.shedBytes) {
        this.metrics.shed.inc();
        continue;
      }
      ws.send(batch, true);
      sent += 1;
    }
    if (sent) this.metrics.framesOut.inc(shed ? 'ephemeral' : 'direct', sent);
  }

  private checkBackpressure(cid: number): void {
    for (const ws of this.localMembers(cid)) if (ws.getBufferedAmount() > this.opts.maxBackpressure) this.onSlowConsumer(ws);
  }
}
