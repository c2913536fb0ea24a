import { randomBytes } from 'node:crypto';
import type { PresenceEntry } from '@parley/protocol';
import type { Logger } from '../logger.js';
import {
  type LeaseState,
  leaseOwner,
  ownedByNode,
  type PresenceConn,
  type PresencePage,
  type PresenceStore,
  type Release,
} from '../ports/presence-store.js';

/** A lease lapses this long after its last renewal; survivors then reap the owner's connections. */
export const LEASE_TTL_MS = 10_000;

/** How the lease tells clients what it found. */
export interface PresenceAnnouncer {
  /** A presence change in a channel, to every node (Chat.presenceDiff). */
  diff(cid: number, joins: PresenceEntry[], leaves: string[]): void;
  /** The channel's presence (at most `listMax` of it), to this node's sockets in it (after a loss settled). */
  state(cid: number, page: PresencePage): void;
}

export interface PresenceLeaseOptions {
  store: PresenceStore;
  nodeId: string;
  logger: Logger;
  ttlMs?: number;
  /** How soon a failed heartbeat is retried (the store is back → the loss heals at once). */
  retryMs?: number;
  /** The incarnation (random by default; tests pin it). */
  incarnation?: string;
  /** The most users a presence state after a loss lists (PARLEY_PRESENCE_LIST_MAX; default all). */
  listMax?: number;
  /**
   * A healthy lease re-asserts its entries every this many heartbeats (default 3: once per TTL);
   * any sign of a loss re-asserts on the next one.
   */
  reassertEvery?: number;
}

interface Departed {
  cid: number;
  conn: PresenceConn;
  /** Re-asserted since it departed: the store holds it, so removing it decides the leave exactly once. */
  asserted: boolean;
}

const key = (cid: number, connId: string) => `${cid}|${connId}`;

/**
 * This process's presence lease (docs/architecture.md, "Presence that converges after a crash").
 *
 * - The lease owner is `<nodeId>#<incarnation>`, new per process: a node restarted at once under
 *   the same id does not renew its previous life's lease, and it reaps that life's entries one
 *   heartbeat after start, without waiting for the lease to lapse (one leave per user who did not
 *   come back; counting per connection keeps users who reconnected meanwhile, here or elsewhere,
 *   online).
 * - It knows every entry this node put in the store (`store` wraps the chat's presence calls) and
 *   re-asserts them on every heartbeat, idempotently: whatever the store lost (Redis restarted
 *   without persistence, a failover, one Cluster shard wiped) is back within one heartbeat of the
 *   store answering again, silently, because clients never saw those users leave.
 * - After a loss, for one lease TTL (the time within which every live node has re-asserted), a
 *   connection that goes away is removed only once that time is over (`departed`), so the store's
 *   count sees every other node's connections of the user first: exactly one leave, no false one.
 *   A connection whose removal failed (store unreachable) goes the same way. Then this node sends
 *   its sockets each channel's presence as a whole, which drops users who vanished with the loss
 *   (e.g. held by a node that died while Redis was down) without any join/leave event.
 * - `heartbeat` answering `reaped` (this owner was reaped as dead while it was alive: a pause past
 *   the lease, or a second process with the same node id) re-announces its users as joins.
 */
export class PresenceLease {
  readonly owner: string;
  /** The store the chat core uses: entries carry this lease owner and are tracked here. */
  readonly store: PresenceStore;
  private readonly inner: PresenceStore;
  private readonly log: Logger;
  private readonly ttlMs: number;
  private readonly retryMs: number;
  /**
   * cid → connId → entry, for every entry this node holds. Keyed by the conn's own id string (no
   * key built per join) and holding the conn the chat passed in: a joined connection costs an
   * entry here and nothing else (issue 11: the lease's bookkeeping was ~0.35 KiB per connection
   * joined to two channels).
   */
  private readonly held = new Map<number, Map<string, PresenceConn>>();
  /** Keys (`key`) of held entries whose add failed: nobody was told of the join, so a re-assert that makes the user present announces it. */
  private readonly announce = new Set<string>();
  private readonly departed = new Map<string, Departed>();
  /** Until then, departures wait (every live node re-asserts within it). */
  private settleUntil = 0;
  /** A loss was seen: once settled, send sockets the whole presence of their channels. */
  private stateDue = false;
  private started = false;
  private previousReaped = false;
  private failing = false;
  /** Heartbeats since the last full re-assert (one call per channel held: not every beat). */
  private sinceReassert = 0;
  /** A heartbeat failed since the last re-assert: whatever happened meanwhile, put everything back. */
  private missedBeat = false;
  /** An add failed since the last re-assert: the next heartbeat puts it in (and announces it). */
  private addFailed = false;
  /** Keys of the re-assert in flight. */
  private reasserting: Set<string> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private announcer: PresenceAnnouncer = { diff() {}, state() {} };

  constructor(private readonly opts: PresenceLeaseOptions) {
    this.inner = opts.store;
    this.owner = leaseOwner(opts.nodeId, opts.incarnation ?? randomBytes(6).toString('hex'));
    this.log = opts.logger.child({ component: 'presence', owner: this.owner });
    this.ttlMs = opts.ttlMs ?? LEASE_TTL_MS;
    this.retryMs = opts.retryMs ?? 500;
    this.store = new LeasedStore(this);
  }

  /** Runs the first heartbeat (errors logged, retried), then keeps beating until `stop`. */
  async start(announcer: PresenceAnnouncer): Promise<void> {
    this.announcer = announcer;
    await this.tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    let next = this.ttlMs / 3;
    try {
      await this.beat();
      if (this.failing) this.log.info('presence heartbeat works again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err }, 'presence heartbeat failed; retrying');
      this.failing = true;
      this.missedBeat = true;
      next = this.retryMs;
    }
    // Departures waiting for the loss to settle are decided on time, not up to an interval late.
    const settling = this.settleUntil - Date.now();
    if ((this.departed.size || this.stateDue) && settling > 0) next = Math.min(next, settling + 20);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), next);
    this.timer.unref();
  }

  /** One heartbeat: renew, re-assert, settle departures, reap the dead. Exposed for tests. */
  async beat(): Promise<void> {
    const state: LeaseState = await this.inner.heartbeat(this.owner, this.ttlMs);
    const first = !this.started;
    this.started = true;
    if (state === 'reaped') {
      this.log.error(
        { nodeId: this.opts.nodeId },
        'this node was reaped as dead while alive (paused longer than the lease, or another process runs with the same node id): announcing its users again',
      );
      // The reaper announced their leaves; take out what a heartbeat of ours may have put back meanwhile.
      for (const [k, d] of [...this.departed]) {
        await this.inner.release(d.cid, d.conn);
        if (this.departed.get(k) === d) this.departed.delete(k);
      }
    } else if (state === 'new' && !first) {
      this.lost("the presence store lost this node's lease (Redis restarted without persistence?)");
    }
    // A full re-assert costs one store call per channel this node holds, so a quiet, healthy
    // lease re-asserts once per TTL (every third beat: a partial loss still heals within about a
    // lease), and at once whenever something may have been lost: a new or reaped lease, a missed
    // heartbeat, a loss still settling, departures waiting to be decided.
    const suspect =
      state !== 'held' || first || this.missedBeat || this.addFailed || Date.now() < this.settleUntil || this.departed.size > 0;
    if (suspect || ++this.sinceReassert >= (this.opts.reassertEvery ?? 3)) {
      await this.reassert(state === 'reaped');
      this.sinceReassert = 0;
      this.missedBeat = false;
      this.addFailed = false;
    }
    if (Date.now() >= this.settleUntil) await this.settle();
    // Our previous life (same node id, killed -9 and restarted at once) is reaped on the second
    // heartbeat, not the first: its clients that come straight back (to us or elsewhere) have
    // landed by then and count as present, so only users who did not come back get a leave.
    if (!this.previousReaped && !first) {
      for (const o of await this.inner.owners()) {
        if (o !== this.owner && ownedByNode(o, this.opts.nodeId)) await this.reap(o, 'reaped the previous life of this node');
      }
      this.previousReaped = true;
    }
    for (const dead of await this.inner.deadNodes()) {
      if (dead !== this.owner) await this.reap(dead, 'reaped presence of a dead node');
    }
  }

  /** Puts back every entry this node holds (and departed ones not removed yet); announces what nobody was told of. */
  private async reassert(announceAll: boolean): Promise<void> {
    const byCid = new Map<number, { conn: PresenceConn; announce: boolean; k: string }[]>();
    const keys: string[] = [];
    const collect = (k: string, cid: number, conn: PresenceConn, announce: boolean) => {
      let list = byCid.get(cid);
      if (!list) byCid.set(cid, (list = []));
      list.push({ conn, announce, k });
      keys.push(k);
    };
    for (const [cid, conns] of this.held) {
      for (const conn of conns.values()) {
        const k = key(cid, conn.connId);
        collect(k, cid, conn, this.announce.has(k));
      }
    }
    for (const [k, d] of this.departed) collect(k, d.cid, d.conn, false);
    // A removal while its entry is being re-asserted waits for it (`removed`): otherwise the
    // re-assert could land after the removal and put a closed connection back for good.
    this.reasserting = new Set(keys);
    let restoredCount = 0;
    try {
      await Promise.all(
        [...byCid].map(async ([cid, list]) => {
          const { restored, joined } = await this.inner.reassert(
            cid,
            list.map((x) => x.conn),
          );
          restoredCount += restored.length;
          const toAnnounce = new Set(list.filter((x) => x.announce).map((x) => x.conn.user));
          for (const x of list) {
            this.announce.delete(x.k); // put in now: nobody is owed an announcement any more
            const d = this.departed.get(x.k);
            if (d) d.asserted = true; // the store holds it now: its removal decides the leave
          }
          // Reaped: every user here was (or may have been: a heartbeat of ours can land between the
          // reaper's steps and re-add entries silently) announced leaving. A join of a user shown
          // online changes no view, so all are announced; otherwise only those nobody was told of.
          const joins = announceAll
            ? [...new Map(list.map((x) => [x.conn.user, { user: x.conn.user, guest: x.conn.guest }])).values()]
            : joined.filter((e) => toAnnounce.has(e.user));
          if (joins.length) this.announcer.diff(cid, joins, []);
        }),
      );
    } finally {
      this.reasserting = null;
    }
    if (restoredCount && !announceAll)
      this.lost(`the presence store had lost ${restoredCount} of this node's connections; re-asserted them`);
  }

  /** The loss is over for every live node: decide the departures, then refresh clients' view. */
  private async settle(): Promise<void> {
    for (const [k, d] of [...this.departed]) {
      if (!d.asserted) continue;
      const r: Release = await this.inner.release(d.cid, d.conn);
      if (this.departed.get(k) === d) this.departed.delete(k);
      if (r === 'last') this.announcer.diff(d.cid, [], [d.conn.user]);
    }
    if (!this.stateDue) return;
    this.stateDue = false;
    const max = this.opts.listMax ?? Number.POSITIVE_INFINITY;
    await Promise.all([...this.held.keys()].map(async (cid) => this.announcer.state(cid, await this.inner.page(cid, max))));
  }

  private async reap(owner: string, what: string): Promise<void> {
    const leaves = await this.inner.reapNode(owner);
    if (leaves.length) this.log.warn({ dead: owner, leaves: leaves.length }, what);
    for (const l of leaves) this.announcer.diff(l.cid, [], [l.user]);
  }

  private lost(why: string): void {
    if (Date.now() >= this.settleUntil) this.log.warn({ settleMs: this.ttlMs }, why);
    this.settleUntil = Date.now() + this.ttlMs;
    this.stateDue = true;
  }

  // --- bookkeeping of the chat core's calls (LeasedStore) ---

  /** The entry as this lease's: the chat builds its conns with `owner` already, so normally no copy. */
  own(conn: PresenceConn): PresenceConn {
    return conn.nodeId === this.owner ? conn : { ...conn, nodeId: this.owner };
  }

  added(cid: number, conn: PresenceConn, ok: boolean): void {
    // Keys are built only when a departure or an announcement may be pending (rarely).
    if (this.departed.size) this.departed.delete(key(cid, conn.connId)); // came back before its departure was decided: it never left
    let conns = this.held.get(cid);
    if (!conns) this.held.set(cid, (conns = new Map()));
    conns.set(conn.connId, conn);
    if (!ok) {
      this.announce.add(key(cid, conn.connId));
      this.addFailed = true;
    } else if (this.announce.size) this.announce.delete(key(cid, conn.connId));
  }

  /** Forgets a held entry; true if it was held. */
  private unhold(cid: number, connId: string): boolean {
    const conns = this.held.get(cid);
    if (!conns?.delete(connId)) return false;
    if (conns.size === 0) this.held.delete(cid);
    if (this.announce.size) this.announce.delete(key(cid, connId));
    return true;
  }

  /** A removal: now (the store decides), or, while a loss settles, deferred. */
  async removed(cid: number, conn: PresenceConn): Promise<Release | 'deferred'> {
    const k = key(cid, conn.connId);
    const wasHeld = this.unhold(cid, conn.connId);
    const defer = () => {
      this.departed.set(k, { cid, conn, asserted: false });
      return 'deferred' as const;
    };
    if (wasHeld && (Date.now() < this.settleUntil || this.reasserting?.has(k))) return defer();
    let r: Release;
    try {
      r = await this.inner.release(cid, conn);
    } catch (err) {
      if (wasHeld) defer(); // decided once the store answers again
      throw err;
    }
    if (r === 'missing' && wasHeld) {
      // We added it and nobody removed it: the store lost it (or reaped us; the heartbeat will say).
      this.lost('the presence store had lost a connection of this node');
      return defer();
    }
    return r;
  }

  get innerStore(): PresenceStore {
    return this.inner;
  }
}

/** The chat core's view of presence: every entry carries the lease owner, and the lease tracks it. */
class LeasedStore implements PresenceStore {
  private readonly s: PresenceStore;
  constructor(private readonly lease: PresenceLease) {
    this.s = lease.innerStore;
  }

  add(cid: number, conn: PresenceConn): Promise<boolean> {
    return this.tracked(cid, conn, (c) => this.s.add(cid, c));
  }
  join(cid: number, conn: PresenceConn, max?: number): Promise<{ first: boolean } & PresencePage> {
    return this.tracked(cid, conn, (c) => this.s.join(cid, c, max));
  }
  private async tracked<T>(cid: number, conn: PresenceConn, op: (c: PresenceConn) => Promise<T>): Promise<T> {
    const c = this.lease.own(conn);
    try {
      const r = await op(c);
      this.lease.added(cid, c, true);
      return r;
    } catch (err) {
      this.lease.added(cid, c, false); // the socket stays in the channel: the next heartbeat puts it in
      throw err;
    }
  }
  async remove(cid: number, conn: PresenceConn): Promise<boolean> {
    return (await this.lease.removed(cid, this.lease.own(conn))) === 'last';
  }
  async release(cid: number, conn: PresenceConn): Promise<Release> {
    const r = await this.lease.removed(cid, this.lease.own(conn));
    return r === 'deferred' ? 'more' : r;
  }
  reassert(cid: number, conns: readonly PresenceConn[]) {
    return this.s.reassert(
      cid,
      conns.map((c) => this.lease.own(c)),
    );
  }
  list(cid: number) {
    return this.s.list(cid);
  }
  page(cid: number, max: number) {
    return this.s.page(cid, max);
  }
  online(cid: number, users: readonly string[]) {
    return this.s.online(cid, users);
  }
  setTyping(cid: number, user: string, ttlMs: number) {
    return this.s.setTyping(cid, user, ttlMs);
  }
  clearTyping(cid: number, user: string) {
    return this.s.clearTyping(cid, user);
  }
  typing(cid: number) {
    return this.s.typing(cid);
  }
  heartbeat(owner: string, ttlMs: number) {
    return this.s.heartbeat(owner, ttlMs);
  }
  owners() {
    return this.s.owners();
  }
  deadNodes() {
    return this.s.deadNodes();
  }
  reapNode(owner: string) {
    return this.s.reapNode(owner);
  }
  /** The composition root closes the store it opened. */
  async close(): Promise<void> {}
}
