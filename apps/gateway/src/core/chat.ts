import type uWS from 'uWebSockets.js';
import { randomUUID } from 'node:crypto';
import {
  CloseCode,
  decodeControl,
  decodeRequest,
  ErrorCode,
  type ErrorFrame,
  encodeControl,
  encodeEvent,
  Limits,
  ModAction,
  Op,
  type PresenceEntry,
  type Reply,
  type Request,
  Role,
  rateAbuseReason,
} from '@parley/protocol';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { AllowanceKind, AllowanceStore } from '../ports/allowances.js';
import type { Broker } from '../ports/broker.js';
import type { Channel, ChannelStore } from '../ports/channel-store.js';
import { QuotaExceededError } from '../ports/limits.js';
import { type AppendInput, type MessageStore, StaleCheckError, UnknownChannelError } from '../ports/message-store.js';
import type { Sanction } from '../ports/moderation-store.js';
import type { PresenceConn, PresencePage, PresenceStore } from '../ports/presence-store.js';
import type { UserStore } from '../ports/user-store.js';
import type { RequestBudget, StallClock } from './budget.js';
import { ChannelRoles } from './channel-roles.js';
import type { Conn } from './conn.js';
import { type CommitSink, GroupCommitter } from './group-commit.js';
import { Groups } from './groups.js';
import { fitPage } from './history-page.js';
import type { Hub } from './hub.js';
import type { Moderation } from './moderation.js';
import { type Outbox, RequestError, userData } from './outbox.js';
import { boundPresence } from './presence-bound.js';
import { FrameLimits, type FramePolicy, waitText } from './rate-limit.js';
import type { SanctionCache } from './sanctions.js';

export const CONTROL_TOPIC = 'ctl';
type WS = uWS.WebSocket<Conn>;

export interface ChatDeps {
  nodeId: string;
  /** The owner presence entries carry (PresenceLease.owner): built with it, they need no copy by the lease. */
  presenceOwner: string;
  logger: Logger;
  metrics: Metrics;
  broker: Broker;
  presence: PresenceStore;
  messages: MessageStore;
  channels: ChannelStore;
  users: UserStore;
  /** Where new guests per address are counted (the cluster's, with Redis); `newGuests` null: no limit. */
  allowances: AllowanceStore;
  newGuests: AllowanceKind | null;
  sanctions: SanctionCache;
  outbox: Outbox;
  typingTtlMs: number;
  commitBatch: number;
  commitLanes: number;
  commitMaxWaitMs: number;
  commitLingerGaps: number;
  commitBusyRate: number;
  limits: FramePolicy;
  /** Costly requests (history, members, list, join, create): per-connection and node-wide caps. */
  budget: RequestBudget;
  /** Server stalls, so their backlog of honest frames is not counted as a flood. */
  stall: StallClock;
  /** A socket whose send buffer is above this is not read from: it is closed (4101) and resumes. */
  maxBackpressure: number;
  /** Warnings about protections firing (rate-limited): the connection's id and address. */
  warn: (event: string, ws: WS, detail?: Record<string, unknown>) => void;
  /** Most channels one user may own (create refuses past it). */
  maxChannelsPerUser: number;
  /** Most different emojis on one message (a new one past it is refused). */
  maxReactionsPerMessage: number;
  /** Most channels one connection may be joined to (one more join is refused). */
  maxJoinsPerConn: number;
  /** Most people a Join reply lists (presence-bound.ts). */
  presenceListMax: number;
}

/** How long a client closed for flooding (4008) is told to stay away. */
export const RATE_ABUSE_BACKOFF_MS = 30_000;

/** Fence refusals a reaction rides out (each after a record read) before it is refused as retryable. */
const MAX_REACTION_RECHECKS = 3;
const OP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Op).map(([k, v]) => [v, k]));

/**
 * The chat core of one node: connection lifecycle and every request. Server-side state per
 * connection (joined channels, role) is the truth every operation re-checks.
 */
export class Chat {
  readonly committer: GroupCommitter;
  /** Fence rechecks in flight, by "cid:userId": a sender's refused sends share one record read. */
  private readonly rechecks = new Map<string, Promise<{ refusal: RequestError | null; gen: number }>>();
  /** userId → this node's sockets of that user (moderation and control messages). */
  private readonly byUser = new Groups<number, WS>();
  /** New guests' first claims in flight (ensureUser), one per socket. */
  private readonly claiming = new Map<WS, Promise<void>>();
  /** The most a History reply carries, about a quarter of the send-buffer cap (history-page.ts). */
  private readonly historyPageBytes: number;
  /** Joins of channels a socket is not in yet, in flight: they count toward its joined-channel cap. */
  private readonly joining = new Map<WS, number>();
  private readonly typingTimers = new Map<number, NodeJS.Timeout>();
  /** cid → the typing list this node last broadcast there (joined by "\n"), while not empty. */
  private readonly typingShown = new Map<number, string>();
  /** "cid:uid" → when a kick for it was last applied here (joins in flight then are undone). */
  private readonly kickedAt = new Map<string, number>();
  /** "cid:uid" → when that user's Leave (from any of its connections) was last applied here. */
  private readonly leftAt = new Map<string, number>();
  /** When each channel was deleted by an operator (joins in flight then undo themselves). */
  private readonly goneAt = new Map<number, number>();
  private toTouch: number[] = [];
  /**
   * Presence ids are "<random per instance>.<connId>": unique across nodes and restarts (a node id may
   * be reused) while a connection itself holds only its number.
   */
  private readonly presenceIdPrefix = `${randomUUID()}.`;
  moderation!: Moderation;

  constructor(
    private readonly d: ChatDeps,
    readonly hub: Hub,
  ) {
    this.historyPageBytes = Math.max(64 * 1024, Math.floor(d.maxBackpressure / 4));
    this.committer = new GroupCommitter(d.messages, {
      maxBatch: d.commitBatch,
      onBatch: (n) => d.metrics.commitBatch.observe(n),
      lanes: d.commitLanes,
      maxWaitMs: d.commitMaxWaitMs,
      lingerGaps: d.commitLingerGaps,
      busyRate: d.commitBusyRate,
      recheck: (item) => this.recheckSend(item as PendingSend),
    });
    d.broker.onMessage((topic, bytes) => this.onBroker(topic, bytes));
    this.controlReady = d.broker.subscribe(CONTROL_TOPIC).catch((e) => d.logger.error({ err: e }, 'control subscribe failed'));
  }

  /**
   * Settles once this node hears control messages (sanction invalidations, kicks): until then it
   * could serve a cached "not muted" that another node just changed.
   */
  readonly controlReady: Promise<void>;

  localSockets(userId: number): readonly WS[] {
    return this.byUser.get(userId);
  }

  allSockets(): WS[] {
    return this.byUser.values();
  }

  /** `guestToken`: a guest's (fresh) token, sent in the Hello for it to reconnect as itself. */
  onOpen(ws: WS, guestToken?: string): void {
    const c = ws.getUserData();
    this.byUser.add(c.userId, ws);
    this.d.metrics.connections.inc();
    // The connection time was recorded when the session was opened (auth).
    const hello = { op: Op.Hello, user: c.user, guest: c.guest, node: this.d.nodeId, heartbeatMs: 25_000 } as const;
    this.d.outbox.event(ws, guestToken ? { ...hello, guestToken } : hello);
  }

  /**
   * A guest gets its database row when it first needs a user id (its first join), not when it
   * connects: the row its guest token created, on whichever node, so its id is the same on all.
   */
  private ensureUser(ws: WS): Promise<void> {
    const c = ws.getUserData();
    if (c.userId > 0) return Promise.resolve();
    // Two first joins in flight (a page restoring several channels): one claim, counted once.
    let claim = this.claiming.get(ws);
    if (!claim) {
      claim = this.claimGuest(ws).finally(() => this.claiming.delete(ws));
      this.claiming.set(ws, claim);
    }
    return claim;
  }

  private async claimGuest(ws: WS): Promise<void> {
    const c = ws.getUserData();
    // A new guest holds a name (and a row) for a day: counted per address, so one address cannot
    // squat names by the thousand. A returning guest had its row at connect and never gets here.
    const kind = this.d.newGuests;
    const addr = c.addr;
    if (kind) {
      const wait = await this.d.allowances.take(kind, addr);
      if (wait > 0) {
        this.d.warn('new guest refused: its address spent its allowance', ws, { retryAfterMs: wait });
        throw new RequestError(
          ErrorCode.RateLimited,
          `too many new guests from this address: sign up, or try again in ${waitText(Math.ceil(wait / 1000))}`,
          wait,
        );
      }
    }
    const u = await this.d.users.claimGuest(c.user, c.guestTid ?? '');
    if (!u) {
      if (kind) await this.d.allowances.give(kind, addr); // nothing was held
      throw new RequestError(ErrorCode.Conflict, `the name "${c.user}" was taken meanwhile: reconnect under another name`);
    }
    this.byUser.delete(c.userId, ws);
    c.userId = u.id;
    c.guestTid = undefined; // the row exists now: not needed again, not kept on the socket
    if (c.open) this.byUser.add(u.id, ws);
  }

  onClose(ws: WS): void {
    const c = ws.getUserData();
    c.open = false;
    this.d.metrics.connections.dec();
    this.byUser.delete(c.userId, ws);
    for (const cid of c.channels?.cids() ?? []) void this.leaveLocal(ws, cid, false);
    if (c.userId > 0) this.touchLater(c.userId);
  }

  /** Closes in one tick (a node draining, a network blip) record their users' last-seen in one statement. */
  private touchLater(userId: number): void {
    if (this.toTouch.length === 0) {
      setImmediate(() => {
        const ids = this.toTouch;
        this.toTouch = [];
        this.d.users.touch(ids).catch((err) => this.d.logger.warn({ err, n: ids.length }, 'recording last-seen failed'));
      });
    }
    this.toTouch.push(userId);
  }

  /**
   * Decodes and runs one frame. Bad frames get an error frame; nothing here throws, and a request
   * that fails later is answered by requestFailed. `bytes` may be a view of uWS's receive buffer,
   * valid only during this call: decode comes first.
   */
  onFrame(ws: WS, bytes: Uint8Array): void {
    const c = ws.getUserData();
    // A client that does not read what it asked for gets nothing more read from it.
    if (ws.getBufferedAmount() > this.d.maxBackpressure) {
      this.slowConsumer(ws);
      return;
    }
    const decoded = decodeRequest(bytes); // before any await (see above)
    if (!decoded.ok) {
      this.d.metrics.framesIn.inc('invalid');
      const e = decoded.error;
      this.badFrame(ws, { op: e.op, rid: e.rid, code: e.code, message: e.message });
      return;
    }
    const req = decoded.value;
    this.d.metrics.framesIn.inc(OP_NAMES[req.op] ?? 'unknown');
    // Decode before limiting so the refusal answers the request (the SDK rejects that promise).
    c.limits ??= new FrameLimits(this.d.limits);
    const now = Date.now();
    const wait = c.limits.take(now, this.d.stall.creditMs(now));
    if (wait > 0) {
      if (c.limits.rateStrike(now)) {
        this.d.warn('rate abuse: closing', ws);
        this.closeFor(ws, CloseCode.RateLimitAbuse, rateAbuseReason(RATE_ABUSE_BACKOFF_MS));
        return;
      }
      const message = `rate limited: at most ${this.d.limits.ratePerS} frames/s; retry in ${wait} ms`;
      this.d.outbox.error(ws, { op: req.op, rid: req.rid, code: ErrorCode.RateLimited, message, retryAfterMs: wait });
      return;
    }
    try {
      const running = req.op === Op.Message ? this.send(ws, req) : this.dispatch(ws, req);
      running?.catch((err: unknown) => this.requestFailed(ws, req.op, req.rid, err));
    } catch (err) {
      this.requestFailed(ws, req.op, req.rid, err);
    }
  }

  /** A request that threw: a RequestError becomes its error frame; anything else is logged and answered Unavailable. */
  private requestFailed(ws: WS, op: Op, rid: number, err: unknown): void {
    if (err instanceof RequestError) {
      const e = { op, rid, code: err.code, message: err.message };
      this.d.outbox.error(ws, err.retryAfterMs === undefined ? e : { ...e, retryAfterMs: err.retryAfterMs });
      return;
    }
    this.d.logger.error({ err, op, conn: userData(ws)?.connId }, 'request failed');
    this.d.outbox.error(ws, { op, rid, code: ErrorCode.Unavailable, message: 'temporarily unavailable, retry', retryAfterMs: 500 });
  }

  /** A frame that is not a request (undecodable, text, oversized): an error frame, and a strike. */
  badFrame(ws: WS, e: ErrorFrame): void {
    const c = ws.getUserData();
    this.d.outbox.error(ws, e);
    this.d.warn('malformed frame refused', ws, { code: e.code, reason: e.message }); // a decoder bomb lands here too
    c.limits ??= new FrameLimits(this.d.limits);
    if (c.limits.badFrame()) {
      this.d.warn('malformed frames: closing', ws, { code: e.code });
      this.closeFor(ws, CloseCode.ProtocolAbuse, 'too many malformed frames');
    }
  }

  /** `nodeBudget`: closed for the node's total (core/send-budget.ts), not for its own cap. */
  slowConsumer(ws: WS, nodeBudget = false): void {
    const c = ws.getUserData();
    if (!c.open) return;
    c.open = false; // nothing more is queued behind the close frame
    c.slowSince = performance.now();
    this.d.metrics.closes.inc({ code: CloseCode.SlowConsumer });
    const why = nodeBudget ? "send buffers over the node's budget: closing the largest" : 'send buffer over the cap: closing';
    this.d.warn(why, ws, { buffered: ws.getBufferedAmount() });
    ws.end(
      CloseCode.SlowConsumer,
      nodeBudget ? 'slow consumer (node send budget): reconnect and resume' : 'slow consumer: reconnect and resume',
    );
  }

  /**
   * Runs a costly request inside the budget (RequestBudget): refused at once with 401 Busy and a
   * retry-after when this connection or this node has too many in flight; skipped when the
   * socket closed before its turn.
   */
  private async costly(ws: WS, op: number, fn: (c: Conn) => Promise<void>): Promise<void> {
    const c = ws.getUserData();
    this.d.metrics.costlyRequests.inc({ op: OP_NAMES[op] ?? op });
    const wait = this.d.budget.take(c);
    if (wait !== null) {
      this.d.warn('costly request refused: busy', ws, { op, retryAfterMs: wait });
      throw new RequestError(ErrorCode.Busy, `server busy: retry in ${wait} ms`, wait);
    }
    try {
      if (c.open) await fn(c);
    } finally {
      this.d.budget.release(c);
    }
  }

  closeFor(ws: WS, code: number, reason: string): void {
    const c = ws.getUserData();
    if (!c.open) return;
    this.d.metrics.closes.inc({ code });
    this.d.logger.info({ conn: c.connId, user: c.user, code, reason }, 'closing connection');
    this.d.outbox.flush(ws); // the error frame explaining the close goes first
    ws.end(code, reason);
  }

  private async dispatch(ws: WS, r: Request): Promise<void> {
    const c = ws.getUserData();
    const out = this.d.outbox;
    switch (r.op) {
      case Op.Create: {
        if (c.guest) throw new RequestError(ErrorCode.GuestNotAllowed, 'guests cannot create channels: sign up');
        return this.costly(ws, r.op, async () => {
          const ch = await this.d.channels
            .create(r.name, c.userId, this.d.maxChannelsPerUser)
            .catch((err: unknown) => Promise.reject(quotaExceeded(err)));
          if (!ch) throw new RequestError(ErrorCode.Conflict, `channel "${r.name}" already exists`);
          out.reply(ws, { op: r.op, rid: r.rid, cid: ch.cid, name: ch.name });
        });
      }
      case Op.Join:
        return this.costly(ws, r.op, () => this.join(ws, r.rid, r.name));
      case Op.Leave: {
        this.member(c, r.cid);
        await this.d.channels.leave(r.cid, c.userId);
        await this.leaveLocal(ws, r.cid, true);
        // Membership is the user's: its other connections (tabs, devices), on every node, are out
        // of the channel too, and told so (a Moderation event, action Left); the reply waits until
        // that is on its way.
        await this.publishControl(encodeControl({ t: 'left', cid: r.cid, uid: c.userId }));
        return out.reply(ws, { op: r.op, rid: r.rid });
      }
      case Op.List:
        return this.costly(ws, r.op, async () => {
          const page = await this.d.channels.list({ after: r.after ?? null, limit: r.limit ?? Limits.listPage, prefix: r.prefix ?? null });
          out.reply(ws, { op: r.op, rid: r.rid, ...page });
        });
      case Op.Members: {
        this.member(c, r.cid);
        return this.costly(ws, r.op, async () => {
          const page = await this.d.channels.members(r.cid, { after: r.after ?? null, limit: r.limit ?? Limits.membersPage });
          // Who of this page is online: O(page), however many are online in the channel.
          const on = await this.d.presence.online(
            r.cid,
            page.members.map((m) => m.user),
          );
          out.reply(ws, {
            op: r.op,
            rid: r.rid,
            members: page.members.map((m, i) => ({ user: m.user, role: m.role, online: on[i] ?? false })),
            more: page.more,
            total: page.total,
          });
        });
      }
      case Op.Message:
        return this.send(ws, r); // onFrame calls it directly; kept so the switch covers every op
      case Op.History: {
        this.member(c, r.cid);
        return this.costly(ws, r.op, async () => {
          const page = await this.d.messages.history(r.cid, { before: r.before, after: r.after, limit: r.limit, viewer: c.userId });
          // A page well under the send-buffer cap, however long its messages (history-page.ts).
          const fitted = fitPage(page, this.historyPageBytes, r.after !== null);
          out.reply(ws, { op: r.op, rid: r.rid, cid: r.cid, ...fitted });
        });
      }
      case Op.Typing: {
        this.member(c, r.cid);
        if (await this.d.sanctions.find(r.cid, c.userId, 'mute')) return; // muted users don't type
        const users = await this.d.presence.setTyping(r.cid, c.user, this.d.typingTtlMs);
        this.broadcastTyping(r.cid, users);
        return;
      }
      case Op.React:
      case Op.Unreact: {
        this.member(c, r.cid);
        const on = r.op === Op.React;
        // Fenced like a send: a kick, mute or ban acknowledged on another node holds here too,
        // even before its control message arrives (infra/migrations/013_reaction_fence.sql).
        const changed = await this.fencedReaction(r.cid, c.userId, await this.notMuted(c, r.cid), (checked) =>
          on
            ? this.d.messages
                .addReaction(r.cid, r.seq, c.userId, r.emoji, this.d.maxReactionsPerMessage, checked)
                .catch((err: unknown) => Promise.reject(quotaExceeded(err)))
            : this.d.messages.removeReaction(r.cid, r.seq, c.userId, r.emoji, checked),
        );
        // Only an unchanged reaction can mean a missing message: check then, not on every reaction.
        if (!changed && r.seq > (await this.d.messages.lastSeq(r.cid))) {
          throw new RequestError(ErrorCode.NotFound, `no message ${r.seq} in this channel`);
        }
        out.reply(ws, { op: r.op, rid: r.rid } as Reply);
        if (changed) {
          this.hub.publish(r.cid, encodeEvent({ op: Op.Reaction, cid: r.cid, seq: r.seq, emoji: r.emoji, user: c.user, on }));
        }
        return;
      }
      case Op.Command: {
        this.member(c, r.cid);
        const text = await this.moderation.run(c, r.cid, r.text);
        return out.reply(ws, { op: r.op, rid: r.rid, text });
      }
    }
  }

  private async join(ws: WS, rid: number, name: string): Promise<void> {
    const c = ws.getUserData();
    const ch = await this.d.channels.byName(name);
    if (!ch) throw new RequestError(ErrorCode.NotFound, `channel "${name}" not found`);
    if (c.channels?.has(ch.cid)) return this.joinFound(ws, rid, name, ch);
    // A new channel for this socket takes a place, held from here until it is in or the join fails.
    const inFlight = this.joining.get(ws) ?? 0;
    const max = this.d.maxJoinsPerConn;
    if ((c.channels?.size ?? 0) + inFlight >= max) {
      throw new RequestError(ErrorCode.QuotaExceeded, `at most ${max} channels joined per connection: leave one first`);
    }
    this.joining.set(ws, inFlight + 1);
    try {
      await this.joinFound(ws, rid, name, ch);
    } finally {
      const left = (this.joining.get(ws) ?? 1) - 1;
      if (left > 0) this.joining.set(ws, left);
      else this.joining.delete(ws);
    }
  }

  private async joinFound(ws: WS, rid: number, name: string, ch: Channel): Promise<void> {
    const c = ws.getUserData();
    await this.ensureUser(ws);
    // lastSeq is read BEFORE subscribing: anything committed in between shows up as a gap the
    // SDK repairs from history, never as a silent hole. Read alongside the ban check (independent).
    const sanctionsSeen = this.d.sanctions.version;
    const joinStarted = performance.now();
    const [ban, lastSeq] = await Promise.all([this.d.sanctions.find(ch.cid, c.userId, 'ban'), this.d.messages.lastSeq(ch.cid)]);
    if (ban) throw new RequestError(ErrorCode.Banned, banMessage(ban.until, ban.reason));
    const role = await this.d.channels
      .join(ch.cid, c.userId, c.guest ? Role.Guest : Role.Member)
      .catch((err: unknown) => Promise.reject(deletedChannel(err, `channel "${name}" was deleted`)));
    if (!c.open) return;
    c.channels ??= new ChannelRoles();
    const already = c.channels.has(ch.cid);
    c.channels.set(ch.cid, role);
    let first = false;
    let present: PresencePage;
    if (!already) {
      this.hub.join(ch.cid, ws);
      const conn = this.presenceConn(c);
      ({ first, ...present } = await this.d.presence.join(ch.cid, conn, this.d.presenceListMax));
      const refusal = await this.removedWhileJoining(ws, ch.cid, name, conn, sanctionsSeen, joinStarted);
      if (refusal === 'closed') return;
      if (refusal) throw refusal;
    } else present = await this.d.presence.page(ch.cid, this.d.presenceListMax);
    // The reply (the presence state) goes out before the diff announcing this join.
    this.d.outbox.reply(ws, {
      op: Op.Join,
      rid,
      cid: ch.cid,
      name: ch.name,
      lastSeq,
      ...boundPresence(present, this.d.presenceListMax, { user: c.user, guest: c.guest }),
    });
    if (first) this.presenceDiff(ch.cid, [{ user: c.user, guest: c.guest }], []);
  }

  /**
   * After a join's presence add: was the socket closed, kicked, banned or taken out meanwhile (a
   * channel deletion, or its user leaving the channel from another connection)?
   * Removals that ran before the socket was in the channel (or before the add landed) could not
   * undo it, so the join undoes itself: the presence entry (nobody was told of the join, so no
   * diff), and for a kick or ban made elsewhere before the socket was in the channel (which also
   * deleted the membership before the join inserted it) the membership and the subscription.
   */
  private async removedWhileJoining(
    ws: WS,
    cid: number,
    name: string,
    conn: PresenceConn,
    sanctionsSeen: number,
    joinStarted: number,
  ): Promise<RequestError | 'closed' | null> {
    const c = ws.getUserData();
    const gone = happenedSince(this.goneAt, cid, joinStarted);
    const goneError = () => new RequestError(ErrorCode.NotFound, `channel "${name}" was deleted while joining`);
    if (!c.open || !c.channels?.has(cid)) {
      await this.d.presence.remove(cid, conn);
      if (!c.open) return 'closed';
      return gone ? goneError() : new RequestError(ErrorCode.NotMember, `removed from "${name}" while joining`);
    }
    // Every control message bumps the sanction version: none since the ban check, nothing to see.
    if (this.d.sanctions.version === sanctionsSeen) return null;
    const ban = await this.d.sanctions.find(cid, c.userId, 'ban');
    const kicked = happenedSince(this.kickedAt, `${cid}:${c.userId}`, joinStarted);
    const left = happenedSince(this.leftAt, `${cid}:${c.userId}`, joinStarted);
    if (!ban && !kicked && !left && !gone) return null;
    await this.d.channels.leave(cid, c.userId);
    if (c.channels?.delete(cid)) {
      this.hub.leave(cid, ws, c.open);
      await this.d.presence.remove(cid, conn);
    }
    if (gone) return goneError();
    return ban
      ? new RequestError(ErrorCode.Banned, banMessage(ban.until, ban.reason))
      : new RequestError(
          ErrorCode.NotMember,
          kicked ? `kicked from "${name}" while joining` : `left "${name}" from another connection while joining`,
        );
  }

  /**
   * Queues a send for the group commit; `sends` (below) acks and publishes it once committed.
   * Synchronous unless the mute check has to ask the store or an earlier send of this connection
   * still waits for one (inOrder): the commonest request costs no promise of its own.
   */
  private send(ws: WS, r: Extract<Request, { op: typeof Op.Message }>): Promise<void> | undefined {
    const c = ws.getUserData();
    this.member(c, r.cid);
    const p = new PendingSend(ws, r.rid, r.cid, c.userId, c.user, r.text, r.cmid);
    const checked = this.notMuted(c, r.cid);
    if (typeof checked === 'number') {
      p.checked = checked;
      if (!c.sendGate) return this.commit(p);
      return this.inOrder(c, undefined).then(() => this.commit(p));
    }
    return this.inOrder(
      c,
      checked.then((gen) => {
        p.checked = gen;
      }),
    ).then(() => this.commit(p));
  }

  /**
   * The send fence refused `p` (a kick, mute or ban landed in its channel that this node has not
   * heard of yet): its sender's standing, from the record, refuses it or sends it again.
   */
  private async recheckSend(p: PendingSend): Promise<void> {
    p.checked = await this.recheck(p.cid, p.userId);
  }

  /**
   * After the fence refused a send or reaction of `userId` in `cid`: that user's standing from the
   * record. Rejects with the refusal they get (banned, no longer a member, muted), else gives the
   * generation to fence the next try with. One record read per user and channel at a time, however
   * many of their sends a refused batch held.
   */
  private async recheck(cid: number, userId: number): Promise<number> {
    const key = `${cid}:${userId}`;
    let verdict = this.rechecks.get(key);
    if (!verdict) {
      verdict = this.d.sanctions.recheck(cid, userId).then((standing) => {
        const ban = standing.sanctions.find((s) => s.kind === 'ban');
        const refusal = ban
          ? new RequestError(ErrorCode.Banned, banMessage(ban.until, ban.reason))
          : !standing.member
            ? new RequestError(ErrorCode.NotMember, 'you are no longer a member of this channel')
            : muteRefusal(standing.sanctions.find((s) => s.kind === 'mute'));
        this.d.metrics.fenceRechecks.inc({ outcome: refusal ? 'refused' : 'sent' });
        return { refusal, gen: standing.gen };
      });
      this.rechecks.set(key, verdict);
      const forget = () => this.rechecks.delete(key);
      verdict.then(forget, forget);
    }
    const { refusal, gen } = await verdict;
    if (refusal) throw refusal;
    return gen;
  }

  /**
   * `react(checked)`, and again after each refusal of the fence whose recheck let the user through
   * (a round per kick, mute or ban landing meanwhile; a few at most, then a retryable refusal).
   */
  private async fencedReaction(
    cid: number,
    userId: number,
    checked: number,
    react: (checked: number) => Promise<boolean>,
  ): Promise<boolean> {
    for (let round = 0; ; round++) {
      try {
        return await react(checked);
      } catch (err) {
        if (!(err instanceof StaleCheckError)) throw err;
        if (round === MAX_REACTION_RECHECKS) throw new RequestError(ErrorCode.Unavailable, 'the channel changed meanwhile: try again');
        checked = await this.recheck(cid, userId);
      }
    }
  }

  private commit(p: PendingSend): undefined {
    p.started = performance.now();
    this.committer.enqueue(p, this.sends);
    return undefined;
  }

  /** Where committed (and refused) sends go: one object for all of them. */
  private readonly sends: CommitSink<PendingSend> = {
    committed: (p, a) => {
      this.d.metrics.ackLatency.observe((performance.now() - p.started) / 1000);
      // Ack and publish only after commit: whatever anyone sees live is in history.
      this.d.outbox.reply(p.ws, { op: Op.Message, rid: p.rid, seq: a.seq, ts: a.ts });
      if (a.duplicate) return;
      this.hub.publishMessage(p.cid, a.seq, encodeEvent({ op: Op.Message, cid: p.cid, seq: a.seq, user: p.user, text: p.text, ts: a.ts }));
      if (this.typingTimers.has(p.cid)) {
        this.d.presence
          .clearTyping(p.cid, p.user)
          .then((users) => this.broadcastTyping(p.cid, users))
          .catch(() => {});
      }
    },
    failed: (p, err) => {
      // The channel was deleted while this send was on its way.
      this.requestFailed(p.ws, Op.Message, p.rid, deletedChannel(err, 'this channel was deleted'));
    },
  };

  /** Removes a socket from a channel on this node (leave, close, kick). */
  async leaveLocal(ws: WS, cid: number, socketOpen: boolean): Promise<void> {
    const c = userData(ws);
    if (!c?.channels?.delete(cid)) return;
    this.hub.leave(cid, ws, socketOpen && c.open);
    try {
      if (await this.d.presence.remove(cid, this.presenceConn(c))) this.presenceDiff(cid, [], [c.user]);
    } catch (err) {
      this.d.logger.warn({ err, cid }, 'presence remove failed; the node lease reaper will converge it');
    }
  }

  presenceDiff(cid: number, joins: PresenceEntry[], leaves: string[]): void {
    this.hub.publishEphemeral(cid, encodeEvent({ op: Op.PresenceDiff, cid, joins, leaves }));
  }

  /**
   * Typing: one frame per channel per tick (the hub keeps the latest); a timer re-broadcasts when
   * someone's TTL lapses. Tells the channel who is typing unless that is what this node last told
   * it: someone typing
   * sends a Typing frame every few seconds, and each used to go to the whole channel with the full
   * list (a storm of a few hundred typers in one channel stalled an embedded node). The expiry
   * timer is re-armed either way, so a typer who stops is seen gone ~TTL after their last frame.
   * Another node's broadcast in between may leave clients with its list until its own timer.
   */
  private broadcastTyping(cid: number, users: string[]): void {
    const shown = users.join('\n');
    if (this.typingShown.get(cid) !== shown) {
      this.hub.publishTyping(cid, encodeEvent({ op: Op.Typing, cid, users }));
      if (users.length) this.typingShown.set(cid, shown);
      else this.typingShown.delete(cid);
    }
    clearTimeout(this.typingTimers.get(cid));
    if (users.length === 0) {
      this.typingTimers.delete(cid);
      return;
    }
    const t = setTimeout(() => {
      this.typingTimers.delete(cid);
      this.d.presence
        .typing(cid)
        .then((now) => this.broadcastTyping(cid, now))
        .catch(() => {});
    }, this.d.typingTtlMs + 50);
    t.unref();
    this.typingTimers.set(cid, t);
  }

  /**
   * Applies a control message here and publishes it to every other node. Resolves once the broker
   * has taken it (Redis has then queued it to every subscribed node), so a moderator's command
   * that awaits it returns only after the change is on its way everywhere. Never rejects.
   */
  publishControl(bytes: Uint8Array): Promise<void> {
    this.applyControl(bytes); // the broker never echoes to the origin
    return this.d.broker.publish(CONTROL_TOPIC, bytes).catch((err) => this.d.logger.error({ err }, 'control publish failed'));
  }

  kickEverywhere(cid: number, uid: number): Promise<void> {
    return this.publishControl(encodeControl({ t: 'kick', cid, uid }));
  }

  /** After a channel's deletion: the message store's caches of it (best effort: they are only caches). */
  forgetChannel(cid: number): Promise<void> {
    return this.d.messages.forgetChannel(cid).catch((err) => this.d.logger.warn({ err, cid }, 'forgetting a deleted channel failed'));
  }

  /** Closes every connection of `uid` on every node (4003): an operator deleted or renamed it. */
  dropEverywhere(uid: number): Promise<void> {
    return this.publishControl(encodeControl({ t: 'drop', cid: 0, uid }));
  }

  private onBroker(topic: string, bytes: Uint8Array): void {
    if (topic === CONTROL_TOPIC) this.applyControl(bytes);
    else if (topic.startsWith('c:')) this.hub.deliverRemote(Number(topic.slice(2)), bytes);
  }

  private applyControl(bytes: Uint8Array): void {
    const ctl = decodeControl(bytes);
    if (!ctl) return;
    if (ctl.t === 'gone') {
      this.d.sanctions.invalidateChannel(ctl.cid); // also tells joins in flight to re-check (removedWhileJoining)
      stampRecent(this.goneAt, ctl.cid);
      for (const ws of [...this.hub.localMembers(ctl.cid)]) void this.leaveLocal(ws, ctl.cid, true);
      return;
    }
    if (ctl.t === 'drop') {
      for (const ws of this.localSockets(ctl.uid))
        this.closeFor(ws, CloseCode.AccountChanged, 'account changed by an operator: sign in again');
      return;
    }
    // Bumps the sanction version too, which tells joins in flight to re-check (removedWhileJoining).
    this.d.sanctions.invalidate(ctl.cid, ctl.uid);
    if (ctl.t === 'kick') stampRecent(this.kickedAt, `${ctl.cid}:${ctl.uid}`);
    if (ctl.t === 'left') stampRecent(this.leftAt, `${ctl.cid}:${ctl.uid}`);
    for (const ws of this.localSockets(ctl.uid)) {
      if (ctl.t === 'kick') void this.leaveLocal(ws, ctl.cid, true);
      else if (ctl.t === 'left') {
        if (!userData(ws)?.channels?.has(ctl.cid)) continue; // the connection that left, or never in
        void this.leaveLocal(ws, ctl.cid, true);
        const user = userData(ws)?.user ?? '';
        this.d.outbox.event(ws, {
          op: Op.Moderation,
          cid: ctl.cid,
          action: ModAction.Left,
          target: user,
          actor: user,
          until: null,
          reason: null,
        });
      } else if (userData(ws)?.channels?.has(ctl.cid)) {
        this.d.channels
          .role(ctl.cid, ctl.uid)
          .then((role) => {
            const c = userData(ws);
            if (role !== null && c?.channels?.has(ctl.cid)) c.channels.set(ctl.cid, role);
          })
          .catch(() => {});
      }
    }
  }

  private member(c: Conn, cid: number): Role {
    const role = c.channels?.get(cid);
    if (role === undefined) throw new RequestError(ErrorCode.NotMember, `join channel ${cid} first`);
    return role;
  }

  /** One per connection, made on its first join and shared by all its channels' entries. */
  private presenceConn(c: Conn): PresenceConn {
    c.presence ??= { connId: this.presenceIdPrefix + c.connId, nodeId: this.d.presenceOwner, user: c.user, guest: c.guest };
    return c.presence;
  }

  /**
   * A send whose mute check had to ask the store (a cache miss) reaches the group commit later
   * than the sends after it that hit the cache would: those wait behind it, so one connection's
   * sends are committed in the order they came (the SDK pipelines them).
   */
  private inOrder(c: Conn, check: Promise<void> | undefined): Promise<void> {
    const gate = c.sendGate;
    const mine = gate ? gate.then(() => check) : (check as Promise<void>);
    const settled = mine.then(ignore, ignore);
    c.sendGate = settled;
    void settled.then(() => {
      if (c.sendGate === settled) c.sendGate = undefined;
    });
    return mine;
  }

  /**
   * Throws Muted if the user is muted in the channel, else gives the restriction generation the
   * check read (what the send is fenced with); from the cache without a promise when it can.
   */
  private notMuted(c: Conn, cid: number): Promise<number> | number {
    const cached = this.d.sanctions.cached(cid, c.userId, 'mute');
    if (cached === null) {
      return this.d.sanctions.active(cid, c.userId).then((standing) => {
        throwIfMuted(standing.sanctions.find((s) => s.kind === 'mute'));
        return standing.gen;
      });
    }
    throwIfMuted(cached);
    return this.d.sanctions.gen(cid);
  }
}

function banMessage(until: number | null, reason: string | null): string {
  const when = until === null ? 'permanently' : `until ${new Date(until).toISOString()}`;
  return `you are banned from this channel ${when}${reason ? `: ${reason}` : ''}`;
}

/** A store's UnknownChannelError (the channel was deleted meanwhile) is the client's NotFound, not a retryable failure. */
function deletedChannel(err: unknown, message: string): unknown {
  return err instanceof UnknownChannelError ? new RequestError(ErrorCode.NotFound, message) : err;
}

/** A store's QuotaExceededError (a configured cap) is the client's QuotaExceeded, with the store's message naming the cap. */
function quotaExceeded(err: unknown): unknown {
  return err instanceof QuotaExceededError ? new RequestError(ErrorCode.QuotaExceeded, err.message) : err;
}

const happenedSince = <K>(m: Map<K, number>, key: K, t: number): boolean => (m.get(key) ?? Number.NEGATIVE_INFINITY) >= t;

/** Records when `key` happened, in a map of recent events that forgets entries older than a minute once it grows (no join takes a minute). */
function stampRecent<K>(m: Map<K, number>, key: K): void {
  const now = performance.now();
  if (m.size >= 1000) for (const [k, t] of m) if (now - t > 60_000) m.delete(k);
  m.set(key, now);
}

/** The Muted refusal a send gets under `mute`, or null when there is none. */
function muteRefusal(mute: Sanction | undefined): RequestError | null {
  if (!mute) return null;
  const left = mute.until === null ? undefined : Math.max(0, mute.until - Date.now());
  const why = mute.reason ? `: ${mute.reason}` : '';
  const until = mute.until === null ? 'until unmuted' : `for ${Math.ceil((left ?? 0) / 1000)} s more`;
  return new RequestError(ErrorCode.Muted, `you are muted ${until}${why}`, left);
}

function throwIfMuted(mute: Sanction | undefined): void {
  const refusal = muteRefusal(mute);
  if (refusal) throw refusal;
}

function ignore(): void {}

/** A send on its way to the group commit: what the store needs (AppendInput), and what its ack needs. */
class PendingSend implements AppendInput {
  /** performance.now() when it was queued: the ack latency counts from here. */
  started = 0;
  /** The send fence: the restriction generation its mute check read (AppendInput). */
  checked = 0;
  constructor(
    readonly ws: WS,
    readonly rid: number,
    readonly cid: number,
    readonly userId: number,
    readonly user: string,
    readonly text: string,
    readonly cmid: string | null,
  ) {}
}
