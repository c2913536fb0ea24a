import {
  type ChatMessage,
  ErrorCode,
  encodeRequest,
  Kind,
  Limits,
  ModAction,
  Op,
  type Reply,
  type ReplyOp,
  type Request,
  type ServerFrame,
} from '@parley/protocol';
import { DEFAULT_RECONNECT } from './backoff.js';
import { ChannelSequencer } from './channel.js';
import { Connection } from './connection.js';
import { Emitter } from './emitter.js';
import { closedError, ParleyError, unavailable } from './errors.js';
import { toAppEvent } from './events.js';
import { Outbox, type OutgoingMessage } from './outbox.js';
import { PendingRequests, RidSource, toError } from './requests.js';
import type {
  ChannelPage,
  ChannelSummary,
  DisconnectInfo,
  Hello,
  HistoryOptions,
  HistoryPage,
  JoinResult,
  ListOptions,
  Member,
  MemberPage,
  MembersOptions,
  ParleyClientOptions,
  ParleyEvents,
  SendOptions,
  SendResult,
} from './types.js';
import { randomId, roleName, socketUrl, toMessage } from './wire.js';

type ReplyTo<O extends ReplyOp> = Extract<Reply, { op: O }>;
type EventFrame = Extract<ServerFrame, { kind: typeof Kind.Event }>;

/** Messages for a channel whose join reply is still on its way are kept at most this many. */
const EARLY_CAP = 1000;
/** A rejoin that failed while the socket stayed up (timeout, 503) is retried after this long. */
const REJOIN_RETRY_MS = 1000;

/** Requests that only read (or join, which is idempotent): retried when the server is Busy. */
const BUSY_RETRIED: ReadonlySet<number> = new Set([Op.History, Op.Members, Op.List, Op.Join]);
const BUSY_RETRIES = 4;

export class ParleyClient {
  private readonly events = new Emitter<ParleyEvents>();
  private readonly conn: Connection;
  private readonly rids = new RidSource();
  private readonly requests: PendingRequests;
  private readonly outbox: Outbox;
  private readonly cids = new Map<string, number>();
  private readonly names = new Map<number, string>();
  private readonly joined = new Map<string, ChannelSequencer>();
  private readonly typingSentAt = new Map<string, number>();
  /** The server may publish to a new member before its join reply: keep those until the reply says where the cursor starts. */
  private readonly early = new Map<number, ChatMessage[]>();
  private joinsInFlight = 0;
  private hello: Hello | undefined;
  private readonly guestTokenOpt: string | undefined;
  private readonly reorderWindowMs: number;
  private readonly typingIntervalMs: number;

  constructor(opts: ParleyClientOptions) {
    const timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.reorderWindowMs = opts.reorderWindowMs ?? 150;
    this.guestTokenOpt = opts.guestToken;
    this.typingIntervalMs = opts.typingIntervalMs ?? 2_000;
    const reconnect = opts.reconnect === undefined ? DEFAULT_RECONNECT : opts.reconnect;
    this.requests = new PendingRequests(timeoutMs);
    this.outbox = new Outbox(timeoutMs);
    this.conn = new Connection(
      {
        // A guest comes back as itself with the token its last Hello gave it (its name is then
        // the token's, whoever else asks for it meanwhile).
        url: () =>
          socketUrl(
            opts.url,
            opts.token,
            this.hello?.guest ? this.hello.user : opts.guestName,
            this.hello?.guest ? (this.hello.guestToken ?? this.guestTokenOpt) : this.guestTokenOpt,
          ),
        reconnect,
        helloTimeoutMs: timeoutMs,
      },
      {
        hello: (h, first) => this.onHello(h, first),
        frame: (f) => this.onFrame(f),
        down: (info) => this.onDown(info),
        error: (err) => this.events.emit('error', err),
      },
    );
  }

  /** Who the server says we are (set once connected). */
  get user(): Hello | undefined {
    return this.hello;
  }
  /**
   * A guest's token (after the first Hello): keep it (e.g. in localStorage) and pass it as the
   * `guestToken` option next time to be the same guest again. Undefined for registered users.
   */
  get guestToken(): string | undefined {
    return this.hello?.guest ? (this.hello.guestToken ?? this.guestTokenOpt) : undefined;
  }
  get connected(): boolean {
    return this.conn.isOpen;
  }
  /** Channels we are in (and will rejoin after a reconnect). */
  get channels(): string[] {
    return [...this.joined.keys()];
  }

  on<E extends keyof ParleyEvents>(event: E, fn: (arg: ParleyEvents[E]) => void): () => void {
    return this.events.on(event, fn);
  }
  once<E extends keyof ParleyEvents>(event: E, fn: (arg: ParleyEvents[E]) => void): () => void {
    return this.events.once(event, fn);
  }
  off<E extends keyof ParleyEvents>(event: E, fn: (arg: ParleyEvents[E]) => void): void {
    this.events.off(event, fn);
  }

  /** Resolves with the server's Hello; rejects with the close code/reason if the socket closes first. */
  connect(): Promise<Hello> {
    return this.conn.connect();
  }

  /** Stop for good: no reconnect; everything pending (sends included) rejects. */
  close(): void {
    this.conn.close();
    this.teardown(unavailable('client closed'));
  }

  async create(name: string): Promise<void> {
    const r = await this.call(Op.Create, (rid) => ({ op: Op.Create, rid, name }));
    this.remember(r.cid, r.name);
  }

  async join(name: string): Promise<JoinResult> {
    this.joinsInFlight++;
    try {
      const r = await this.call(Op.Join, (rid) => ({ op: Op.Join, rid, name }));
      this.joinedOk(r);
      return { members: r.members, online: r.online ?? r.members.length, lastSeq: r.lastSeq };
    } finally {
      if (--this.joinsInFlight === 0) this.early.clear();
    }
  }

  async leave(name: string): Promise<void> {
    const cid = this.joined.get(name)?.cid ?? this.cids.get(name);
    if (cid === undefined) throw new ParleyError(ErrorCode.NotMember, `not in #${name}`);
    await this.call(Op.Leave, (rid) => ({ op: Op.Leave, rid, cid }));
    const ch = this.joined.get(name);
    if (ch) this.drop(ch, new ParleyError(ErrorCode.NotMember, `left #${name}`));
  }

  /**
   * Resolves once the server has stored the message. Survives disconnects: unacked sends are
   * retransmitted with the same cmid after the channel is rejoined, so they are stored once.
   */
  send(channel: string, text: string, opts: SendOptions = {}): Promise<SendResult> {
    if (text.length === 0 || text.length > Limits.text) {
      return Promise.reject(new ParleyError(ErrorCode.InvalidFields, `text must be 1–${Limits.text} characters`));
    }
    if (this.conn.isClosed) return Promise.reject(unavailable('not connected'));
    const ch = this.joined.get(channel);
    const cid = ch?.cid ?? this.cids.get(channel);
    if (cid === undefined) return Promise.reject(new ParleyError(ErrorCode.NotMember, `not in #${channel}`));
    // Only joined channels are resent after a reconnect; others would be refused anyway.
    if (!ch && !this.conn.isOpen) return Promise.reject(unavailable('not connected'));
    return new Promise<SendResult>((resolve, reject) => {
      const m: OutgoingMessage = {
        channel,
        text,
        cmid: opts.cmid ?? randomId(),
        resolve,
        reject,
        rid: 0,
        timer: undefined,
      };
      this.outbox.add(m);
      if (ch) this.flush(channel);
      else this.transmit(m, cid);
    });
  }

  async history(channel: string, opts: HistoryOptions = {}): Promise<HistoryPage> {
    const cid = await this.cidOf(channel);
    const limit = Math.min(Limits.historyPage, Math.max(1, Math.floor(opts.limit ?? 50)));
    const r = await this.call(Op.History, (rid) => ({
      op: Op.History,
      rid,
      cid,
      before: opts.before ?? null,
      after: opts.after ?? null,
      limit,
    }));
    return { messages: r.messages.map((m) => toMessage(channel, m)), more: r.more };
  }

  /** The first page of public channels by name (up to 100); `listPage` for the next ones. */
  async list(): Promise<ChannelSummary[]> {
    return (await this.listPage()).channels;
  }

  /** One page of public channels by name: `after` = the previous page's last name; `prefix` to search. */
  async listPage(opts: ListOptions = {}): Promise<ChannelPage> {
    const r = await this.call(Op.List, (rid) => ({
      op: Op.List,
      rid,
      after: opts.after ?? null,
      limit: opts.limit,
      prefix: opts.prefix ?? null,
    }));
    for (const c of r.channels) this.remember(c.cid, c.name);
    return { channels: r.channels.map((c) => ({ name: c.name, members: c.members })), more: r.more === true };
  }

  /** The first page of the channel's members by name (up to 200); `membersPage` for the next ones and the count. */
  async members(channel: string): Promise<Member[]> {
    return (await this.membersPage(channel)).members;
  }

  /** One page of the channel's members by name: `after` = the previous page's last name. */
  async membersPage(channel: string, opts: MembersOptions = {}): Promise<MemberPage> {
    const cid = await this.cidOf(channel);
    const r = await this.call(Op.Members, (rid) => ({ op: Op.Members, rid, cid, after: opts.after ?? null, limit: opts.limit }));
    return {
      members: r.members.map((m) => ({ user: m.user, role: roleName(m.role), online: m.online })),
      more: r.more === true,
      total: r.total ?? r.members.length,
    };
  }

  async react(channel: string, seq: number, emoji: string): Promise<void> {
    const cid = await this.cidOf(channel);
    await this.call(Op.React, (rid) => ({ op: Op.React, rid, cid, seq, emoji }));
  }

  async unreact(channel: string, seq: number, emoji: string): Promise<void> {
    const cid = await this.cidOf(channel);
    await this.call(Op.Unreact, (rid) => ({ op: Op.Unreact, rid, cid, seq, emoji }));
  }

  /** Slash command in the context of `channel`; resolves with the server's answer text. */
  async command(channel: string, text: string): Promise<string> {
    const cid = await this.cidOf(channel);
    const r = await this.call(Op.Command, (rid) => ({ op: Op.Command, rid, cid, text }));
    return r.text;
  }

  /**
   * "I am typing", fire-and-forget. Call it on every keystroke: it goes out at most once per
   * interval per channel (the server expires it by itself), and not at all while offline.
   */
  typing(channel: string): void {
    const cid = this.joined.get(channel)?.cid;
    if (cid === undefined || !this.conn.isOpen) return;
    const now = Date.now();
    if (now - (this.typingSentAt.get(channel) ?? -Infinity) < this.typingIntervalMs) return;
    if (this.conn.send(encodeRequest({ op: Op.Typing, rid: 0, cid }))) this.typingSentAt.set(channel, now);
  }

  // ---------- requests ----------

  /**
   * One request. Reads the server refused as Busy (its budget for costly requests was spent:
   * history, members, list, join) are asked again after the retry-after it gave, a few times,
   * before the caller sees the error: they change nothing, and a crowd of clients backing off
   * like this is what the budget expects.
   */
  private async call<O extends ReplyOp>(op: O, build: (rid: number) => Request): Promise<ReplyTo<O>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.callOnce(op, build);
      } catch (err) {
        const busy = err instanceof ParleyError && err.code === ErrorCode.Busy && BUSY_RETRIED.has(op);
        if (!busy || attempt >= BUSY_RETRIES) throw err;
        await new Promise((r) => setTimeout(r, (err as ParleyError).retryAfterMs ?? 250));
      }
    }
  }

  private callOnce<O extends ReplyOp>(op: O, build: (rid: number) => Request): Promise<ReplyTo<O>> {
    if (!this.conn.isOpen) return Promise.reject(unavailable('not connected'));
    const rid = this.rids.next();
    const reply = this.requests.track(rid);
    this.conn.send(encodeRequest(build(rid)));
    return reply.then((r) => {
      if (r.op !== op) throw new ParleyError(ErrorCode.BadFrame, `reply op ${r.op} does not answer op ${op}`);
      return r as ReplyTo<O>;
    });
  }

  /** Names are the API, cids the wire: an unknown name is looked up once through list(). */
  private async cidOf(name: string): Promise<number> {
    const known = this.joined.get(name)?.cid ?? this.cids.get(name);
    if (known !== undefined) return known;
    await this.listPage({ prefix: name, limit: 1 }); // the name itself sorts first among its prefix
    const cid = this.cids.get(name);
    if (cid === undefined) throw new ParleyError(ErrorCode.NotFound, `no channel #${name}`);
    return cid;
  }

  private remember(cid: number, name: string): void {
    const old = this.cids.get(name);
    if (old !== undefined && old !== cid) this.names.delete(old);
    this.cids.set(name, cid);
    this.names.set(cid, name);
  }

  // ---------- channels ----------

  private joinedOk(r: ReplyTo<typeof Op.Join>): ChannelSequencer {
    this.remember(r.cid, r.name);
    let ch = this.joined.get(r.name);
    if (ch && ch.cid !== r.cid) {
      // Same name, new cid: the channel was deleted and recreated, the old cursor means nothing.
      ch.dispose();
      ch = undefined;
    }
    if (!ch) {
      ch = this.sequencer(r.name, r.cid, r.lastSeq);
      this.joined.set(r.name, ch);
    }
    ch.ready = true;
    this.events.emit('presence', { channel: r.name, type: 'state', members: r.members, online: r.online ?? r.members.length });
    const early = this.early.get(r.cid);
    this.early.delete(r.cid);
    for (const m of early ?? []) ch.ingest(m);
    this.flush(r.name);
    // Rejoin after a reconnect: fetch what was published while we were away.
    if (r.lastSeq > ch.last || ch.buffered > 0) void ch.repair();
    return ch;
  }

  private sequencer(name: string, cid: number, last: number): ChannelSequencer {
    return new ChannelSequencer(name, cid, last, {
      deliver: (m) => this.events.emit('message', toMessage(name, m)),
      fetchAfter: (cid, after) =>
        this.call(Op.History, (rid) => ({ op: Op.History, rid, cid, before: null, after, limit: Limits.historyPage })),
      error: (err) => this.events.emit('error', err instanceof Error ? err : new Error(String(err))),
      reorderWindowMs: this.reorderWindowMs,
    });
  }

  private async rejoin(ch: ChannelSequencer): Promise<void> {
    try {
      const r = await this.call(Op.Join, (rid) => ({ op: Op.Join, rid, name: ch.name }));
      if (this.joined.get(ch.name) === ch) this.joinedOk(r);
    } catch (err) {
      if (this.joined.get(ch.name) !== ch) return;
      if (err instanceof ParleyError && err.retryable) {
        // Lost connection: the next Hello rejoins. Still connected (timeout, 503): try again shortly.
        setTimeout(() => {
          if (this.conn.isOpen && !ch.ready && this.joined.get(ch.name) === ch) void this.rejoin(ch);
        }, err.retryAfterMs ?? REJOIN_RETRY_MS);
        return;
      }
      // Refused (banned meanwhile, channel deleted): we are not in it any more.
      const e = err instanceof Error ? err : new Error(String(err));
      this.drop(ch, e);
      this.events.emit('error', e);
    }
  }

  private drop(ch: ChannelSequencer, err: Error): void {
    ch.dispose();
    if (this.joined.get(ch.name) === ch) this.joined.delete(ch.name);
    this.typingSentAt.delete(ch.name);
    this.outbox.rejectWhere((m) => m.channel === ch.name, err);
  }

  private flush(channel: string): void {
    const ch = this.joined.get(channel);
    if (!ch?.ready || !this.conn.isOpen) return;
    for (const m of this.outbox.waiting(channel)) this.transmit(m, ch.cid);
  }

  private transmit(m: OutgoingMessage, cid: number): void {
    const rid = this.rids.next();
    if (this.conn.send(encodeRequest({ op: Op.Message, rid, cid, text: m.text, cmid: m.cmid }))) {
      this.outbox.sent(m, rid);
    }
  }

  // ---------- connection events ----------

  private onHello(hello: Hello, first: boolean): void {
    this.hello = hello;
    this.events.emit('connected', hello);
    if (!first) for (const ch of [...this.joined.values()]) void this.rejoin(ch);
  }

  private onDown(info: DisconnectInfo): void {
    if (info.willReconnect) {
      const err = unavailable('disconnected');
      this.requests.failAll(err);
      this.outbox.requeue();
      // Only joined channels are rejoined, so only their sends can be retried.
      this.outbox.rejectWhere((m) => !this.joined.has(m.channel), err);
      for (const ch of this.joined.values()) ch.suspend();
    } else {
      this.teardown(closedError(info.code, info.reason));
    }
    this.events.emit('disconnected', info);
  }

  private teardown(err: Error): void {
    this.requests.failAll(err);
    this.outbox.requeue();
    this.outbox.rejectWhere(() => true, err);
    for (const ch of this.joined.values()) ch.dispose();
    this.joined.clear();
    this.early.clear();
    this.typingSentAt.clear();
  }

  private onFrame(f: ServerFrame): void {
    if (f.kind === Kind.Event) {
      this.onEvent(f);
      return;
    }
    if (f.rid !== 0 && (this.requests.settle(f) || this.outbox.settle(f))) return;
    // Unsolicited (rid 0) or for a request we already gave up on.
    if (f.kind === Kind.Error) this.events.emit('error', toError(f));
  }

  private onEvent(f: EventFrame): void {
    if (f.op === Op.Message) {
      const ch = this.channelOf(f.cid);
      if (ch) ch.ingest(f);
      else if (this.joinsInFlight > 0) this.keepEarly(f);
      return;
    }
    if (f.op === Op.Moderation && f.action === ModAction.Left) {
      const ch = this.channelOf(f.cid);
      if (!ch) return;
      this.drop(ch, new ParleyError(ErrorCode.NotMember, `left #${ch.name} from another connection`));
      this.events.emit('left', { channel: ch.name });
      return;
    }
    const channel = 'cid' in f ? this.names.get(f.cid) : undefined;
    const e = channel === undefined ? undefined : toAppEvent(f, channel);
    if (!e) return;
    if (e.name === 'moderation') {
      const { action, target } = e.value;
      const ch = f.op === Op.Moderation ? this.channelOf(f.cid) : undefined;
      if (ch && (action === 'kick' || action === 'ban') && target === this.hello?.user) {
        const code = action === 'ban' ? ErrorCode.Banned : ErrorCode.NotMember;
        this.drop(ch, new ParleyError(code, `${action === 'ban' ? 'banned from' : 'kicked from'} #${ch.name}`));
      } else if (ch && action === 'delete') {
        this.drop(ch, new ParleyError(ErrorCode.NotFound, `#${ch.name} was deleted`));
      }
    }
    this.events.emit(e.name, e.value as never);
  }

  private channelOf(cid: number): ChannelSequencer | undefined {
    const name = this.names.get(cid);
    const ch = name === undefined ? undefined : this.joined.get(name);
    return ch?.cid === cid ? ch : undefined;
  }

  private keepEarly(m: ChatMessage): void {
    const list = this.early.get(m.cid) ?? [];
    if (list.length >= EARLY_CAP) return;
    list.push({ cid: m.cid, seq: m.seq, user: m.user, text: m.text, ts: m.ts, ...(m.reactions ? { reactions: m.reactions } : {}) });
    this.early.set(m.cid, list);
  }
}
