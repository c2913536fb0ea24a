import type uWS from 'uWebSockets.js';
import { CloseCode, encodeBatch } from '@parley/protocol';
import type { Metrics } from '../metrics.js';
import type { Broker } from '../ports/broker.js';
import type { Conn } from './conn.js';

/**
 * Local fan-out, plus the bridge to other nodes through the Broker.
 *
 * - Frames are encoded ONCE at the origin and coalesced into batch frames: everything published
 *   to one channel within one event-loop tick becomes one batch, i.e. one broker publish per
 *   channel and one WebSocket message per recipient. Batches from other nodes join the same flush.
 * - With a window (`coalesceMs` > 0) each channel's own frames leave at most once per window: a
 *   frame for a channel that has not flushed within the window still leaves on the next tick, so
 *   the window delays (by at most `coalesceMs`) only the frames of channels that are busy right
 *   now, never a quiet channel because another one is busy. Other nodes' batches (already
 *   coalesced at their origin) and direct frames are delivered on the next tick.
 * - Durable frames (chat messages, reactions) go through uWS topics (native fan-out).
 *   Ephemeral frames (typing, presence) are sent per socket and skipped for any socket whose
 *   send buffer is above `shedBytes`: they are shed before chat messages ever are.
 * - After each flush, sockets whose buffer exceeds `maxBackpressure` are closed with 4101
 *   (SlowConsumer); the SDK reconnects and resumes from its last seq, so nothing is lost.
 */
const DURABLE = 0;
const EPHEMERAL = 1;
const DIRECT = 2;

interface Pending {
  durable: Uint8Array[];
  ephemeral: Uint8Array[];
  /**
   * Durable frames sent socket by socket at flush time instead of through a uWS topic. uWS drains
   * topic publishes at the end of the loop iteration, so a socket removed in between (the target
   * of a kick) would miss them; moderation events must reach their target.
   */
  direct: Uint8Array[];
  /** Latest typing frame only: typing is coalesced to one per channel per window. */
  typing: Uint8Array | null;
  /** When this channel's pending frames are to be flushed (performance.now() time; 0 = next tick). */
  dueAt: number;
  /** Batches received from other nodes: delivered locally, never forwarded again. */
  peerDurable: Uint8Array[];
  peerEphemeral: Uint8Array[];
}

export const channelTopic = (cid: number) => `c:${cid}`;

export class Hub {
  private readonly local = new Map<number, Set<uWS.WebSocket<Conn>>>();
  private readonly pending = new Map<number, Pending>();
  private immediate: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  /** With a window: when each channel's own frames last left (entries older than the window are swept). */
  private readonly lastOwnFlush = new Map<number, number>();
  private sweepAt = 1024;
  private readonly flushDueNow = () => this.flushDue();

  constructor(
    private readonly app: uWS.TemplatedApp,
    private readonly broker: Broker,
    private readonly metrics: Metrics,
    private readonly opts: { shedBytes: number; maxBackpressure: number; coalesceMs: number },
    private readonly onBrokerError: (err: unknown) => void,
  ) {}

  /** Called for every broker message on a channel topic: bytes = [flag byte][frame or batch]. */
  deliverRemote(cid: number, bytes: Uint8Array): void {
    if (!this.local.has(cid)) return;
    const payload = bytes.subarray(1);
    if (bytes[0] === EPHEMERAL) this.slot(cid, 0).peerEphemeral.push(payload);
    else if (bytes[0] === DURABLE) this.slot(cid, 0).peerDurable.push(payload);
    else {
      // Moderation events now: the control message that removes their target may come next.
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
    this.slot(cid, this.ownDue(cid)).durable.push(frame);
  }
  publishEphemeral(cid: number, frame: Uint8Array): void {
    this.slot(cid, this.ownDue(cid)).ephemeral.push(frame);
  }
  publishDirect(cid: number, frame: Uint8Array): void {
    this.slot(cid, 0).direct.push(frame);
  }
  publishTyping(cid: number, frame: Uint8Array): void {
    this.slot(cid, this.ownDue(cid)).typing = frame;
  }

  /** Flush everything now (moderation, drain, tests), whatever the windows. */
  flush(): void {
    this.cancelScheduled();
    if (!this.pending.size) return;
    const work = [...this.pending];
    this.pending.clear();
    this.flushSlots(work);
  }

  /** The scheduled flush: the channels that are due; the rest wait for their window. */
  private flushDue(): void {
    this.cancelScheduled();
    const now = performance.now();
    const work: [number, Pending][] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.pending) {
      const due = entry[1].dueAt;
      if (due <= now + 0.5) work.push(entry);
      else if (due < next) next = due;
    }
    for (const [cid] of work) this.pending.delete(cid);
    this.flushSlots(work);
    if (next !== Number.POSITIVE_INFINITY) this.schedule(next);
  }

  private flushSlots(work: [number, Pending][]): void {
    const windowed = this.opts.coalesceMs > 0;
    const now = windowed ? performance.now() : 0;
    for (const [cid, p] of work) {
      if (windowed && (p.durable.length || p.ephemeral.length || p.typing)) this.lastOwnFlush.set(cid, now);
      const members = this.localMembers(cid).size;
      const durable = this.forwardAndMerge(cid, DURABLE, p.durable, p.peerDurable);
      if (durable && members) {
        this.app.publish(channelTopic(cid), durable, true);
        this.metrics.framesOut.inc('durable', members);
      }
      if (p.direct.length) {
        const batch = encodeBatch(p.direct);
        this.sendEach(cid, batch, false);
        this.forward(cid, DIRECT, batch);
      }
      if (p.typing) p.ephemeral.push(p.typing);
      const ephemeral = this.forwardAndMerge(cid, EPHEMERAL, p.ephemeral, p.peerEphemeral);
      if (ephemeral && members) this.sendEach(cid, ephemeral, true);
      if (members) this.checkBackpressure(cid);
    }
  }

  /** When this node's next frame for `cid` may leave: now (0) unless the channel flushed within the window. */
  private ownDue(cid: number): number {
    if (this.opts.coalesceMs <= 0) return 0;
    const last = this.lastOwnFlush.get(cid);
    return last === undefined ? 0 : last + this.opts.coalesceMs;
  }

  private slot(cid: number, due: number): Pending {
    let p = this.pending.get(cid);
    if (!p) {
      p = { durable: [], ephemeral: [], direct: [], typing: null, peerDurable: [], peerEphemeral: [], dueAt: due };
      this.pending.set(cid, p);
    } else if (due < p.dueAt) p.dueAt = due; // what is due sooner takes the channel's frames with it
    this.schedule(p.dueAt);
    return p;
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
    if (this.lastOwnFlush.size > this.sweepAt) this.sweepLastFlushes();
  }

  /** Forgets channels quiet for longer than the window (they flush at once anyway): amortised O(1). */
  private sweepLastFlushes(): void {
    const quietBefore = performance.now() - this.opts.coalesceMs;
    for (const [cid, t] of this.lastOwnFlush) if (t < quietBefore) this.lastOwnFlush.delete(cid);
    this.sweepAt = Math.max(1024, 2 * this.lastOwnFlush.size);
  }

  /**
   * This node's frames go to the other nodes as one batch; the returned batch (ours plus the
   * peers' batches of this window) is what local sockets get. Null when there is nothing.
   */
  private forwardAndMerge(cid: number, flag: number, own: Uint8Array[], peers: Uint8Array[]): Uint8Array | null {
    const ours = own.length ? encodeBatch(own) : null;
    if (ours) this.forward(cid, flag, ours);
    if (!peers.length) return ours;
    return encodeBatch(ours ? [ours, ...peers] : peers);
  }

  private forward(cid: number, flag: number, batch: Uint8Array): void {
    const bytes = new Uint8Array(batch.byteLength + 1);
    bytes[0] = flag;
    bytes.set(batch, 1);
    this.broker.publish(channelTopic(cid), bytes).catch(this.onBrokerError);
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
    for (const ws of this.localMembers(cid)) {
      const c = ws.getUserData();
      if (c.open && ws.getBufferedAmount() > this.opts.maxBackpressure) {
        c.open = false; // end() once; nothing more is queued behind the close frame
        this.metrics.closes.inc({ code: CloseCode.SlowConsumer });
        ws.end(CloseCode.SlowConsumer, 'slow consumer: reconnect and resume');
      }
    }
  }
}
