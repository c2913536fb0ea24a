import { type ChannelSummary, CloseCode, type Member, type Message, type ModerationEvent, ParleyClient, ParleyError } from '@parley/client';
import { type Session, saveSession, userKey } from '../auth/session.ts';
import { moderationLine, moderationNotice } from './moderation-text.ts';
import { countAfterDiff } from './online-count.ts';
import { lengthProblem, markFailed, markSending, removePending, sendErrorText } from './pending.ts';
import { applyReaction, type MsgItem, mergeMessages, type PendingItem, type SystemItem } from './timeline.ts';

/**
 * The one store of the chat page: it owns the SDK client, turns its events into immutable
 * snapshots and offers the actions the page needs. React reads it with useSyncExternalStore;
 * no component copies its state. Everything about delivery (order, dedup, resume, retries
 * with the same cmid) is the SDK's job; this only keeps what the page shows.
 */

export interface ChannelState {
  name: string;
  messages: MsgItem[];
  system: SystemItem[];
  pending: PendingItem[];
  /** Highest seq known (join reply or a message). */
  lastSeq: number;
  lastRead: number;
  ownAfterRead: number;
  /** Older history: not asked yet, loading, more exists, or we hold the first message. */
  history: 'unloaded' | 'loading' | 'more' | 'start';
  /**
   * The roster pages loaded so far (by name; the first on join, more on request): a channel may
   * have any number of members, so the page never asks for them all. New members who come online
   * are added from presence, roles follow moderation events: no refetch per event.
   */
  members: Member[];
  /** More roster pages exist on the server. */
  membersMore: boolean;
  /** The channel's members, all pages (null until the first page arrived). */
  memberTotal: number | null;
  online: string[];
  /** Those of `online` who are guests (from presence): their badge before the roster page naming them is loaded. */
  onlineGuests: string[];
  /** How many are online: `online.length`, or more in a crowded channel whose presence list the server capped. */
  onlineCount: number;
  typing: string[];
  /** ms since epoch; Infinity = until unmuted; null = not muted. */
  mutedUntil: number | null;
}

export type Status = 'connecting' | 'online' | 'reconnecting' | 'offline';

export interface Snapshot {
  status: Status;
  /** When the connection came back (the page says so for a few seconds). */
  backAt: number | null;
  me: { user: string; guest: boolean } | null;
  channels: Readonly<Record<string, ChannelState>>;
  order: readonly string[];
  active: string | null;
  directory: ChannelSummary[] | null;
  notice: string | null;
  /** The session ended (token expired, account changed): back to login with this message. */
  ended: string | null;
  /** The first connection failed (server down): the page offers to try again. */
  connectError: string | null;
}

const EMPTY: Snapshot = {
  status: 'connecting',
  backAt: null,
  me: null,
  channels: {},
  order: [],
  active: null,
  directory: null,
  notice: null,
  ended: null,
  connectError: null,
};

const FIRST_PAGE = 50;
/**
 * A channel followed live keeps at most LIVE_KEEP messages in memory (trimmed from the top when
 * it passes LIVE_MAX): the page's work per update stays bounded however long it stays open;
 * scrolling up fetches the trimmed ones again by cursor.
 */
const LIVE_MAX = 1500;
const LIVE_KEEP = 1000;
const OLDER_PAGE = 100;
/** Listeners hear at most one change per this many ms: a 50 msg/s channel renders ~20 times a second, not 50. */
const EMIT_MS = 50;
/** The shortest time the "Connection lost" banner stays up, however fast the reconnect. */
const LOST_SHOWN_MIN_MS = 1000;

let systemIds = 0;

export class ChatStore {
  private snap: Snapshot = EMPTY;
  private readonly listeners = new Set<() => void>();
  private emitTimer: ReturnType<typeof setTimeout> | null = null;
  private lastEmit = 0;
  private client: ParleyClient | null = null;
  private readonly storage: Storage;
  private readonly url: string;
  private rosterTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /**
   * Channels whose roster may have changed while the connection was down (members who joined,
   * roles given or taken: events missed): read again once the channel is rejoined.
   */
  private rosterStale = new Set<string>();
  private readonly loadingMembers = new Set<string>();
  /** Channels whose list is scrolled to the bottom (the reader follows live messages). */
  private readonly following = new Map<string, boolean>();
  private readTimer: ReturnType<typeof setTimeout> | null = null;
  /** When the connection was lost, and the timer that shows "Back online" no sooner than LOST_SHOWN_MIN_MS after. */
  private lostAt = 0;
  private backTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly session: Session,
    opts: { url?: string; storage?: Storage } = {},
  ) {
    this.url = opts.url ?? location.origin;
    this.storage = opts.storage ?? localStorage;
  }

  // ---------- React side ----------

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  getSnapshot = (): Snapshot => this.snap;

  private set(patch: Partial<Snapshot>): void {
    this.snap = { ...this.snap, ...patch };
    this.schedule();
  }
  private setChannel(name: string, patch: Partial<ChannelState> | ((c: ChannelState) => Partial<ChannelState>)): void {
    const ch = this.snap.channels[name];
    if (!ch) return;
    const p = typeof patch === 'function' ? patch(ch) : patch;
    this.snap = { ...this.snap, channels: { ...this.snap.channels, [name]: { ...ch, ...p } } };
    this.schedule();
  }
  private schedule(): void {
    if (this.emitTimer) return;
    const wait = Math.max(0, EMIT_MS - (Date.now() - this.lastEmit));
    this.emitTimer = setTimeout(() => {
      this.emitTimer = null;
      this.lastEmit = Date.now();
      for (const fn of this.listeners) fn();
    }, wait);
  }

  // ---------- lifecycle ----------

  async start(wanted: string | null): Promise<void> {
    this.client?.close();
    const s = this.session;
    const client = new ParleyClient({
      url: this.url,
      ...(s.kind === 'user' ? { token: s.token } : { guestName: s.name, ...(s.guestToken ? { guestToken: s.guestToken } : {}) }),
    });
    this.client = client;
    this.set({ status: 'connecting', connectError: null });
    client.on('message', (m) => this.onMessage(m));
    client.on('presence', (e) => {
      if (e.type === 'state') {
        this.setChannel(e.channel, { online: e.members.map((m) => m.user), onlineGuests: guestsOf(e.members), onlineCount: e.online });
        // Rejoined after a reconnect: every page a node held comes back at once, so spread the reads.
        if (this.rosterStale.delete(e.channel)) this.refreshRoster(e.channel, 300 + Math.random() * 2700);
      } else {
        this.setChannel(e.channel, (c) => ({
          online: [...c.online.filter((u) => !e.leaves.includes(u)), ...e.joins.map((j) => j.user).filter((u) => !c.online.includes(u))],
          onlineCount: countAfterDiff(c, e.joins, e.leaves),
          onlineGuests: [
            ...c.onlineGuests.filter((u) => !e.leaves.includes(u)),
            ...guestsOf(e.joins).filter((u) => !c.onlineGuests.includes(u)),
          ],
        }));
        this.addNewMembers(e.channel, e.joins);
      }
    });
    client.on('typing', (e) => this.setChannel(e.channel, { typing: e.users.filter((u) => u !== this.snap.me?.user) }));
    client.on('reaction', (e) =>
      this.setChannel(e.channel, (c) => ({
        messages: c.messages.map((m) => (m.seq === e.seq ? { ...m, reactions: applyReaction(m.reactions, e.emoji, e.user, e.on) } : m)),
      })),
    );
    client.on('moderation', (e) => this.onModeration(e));
    // The user left a channel in another tab or on another device: this tab is out of it too.
    client.on('left', (e) => {
      if (!this.snap.channels[e.channel]) return;
      this.set({ notice: `You left #${e.channel} in another window.` });
      this.forget(e.channel);
    });
    client.on('connected', () => {
      this.keepGuestToken(client);
      if (this.snap.status !== 'reconnecting') return;
      // A reconnect faster than the store's emit throttle would never show the banner at all (the
      // app would see 'online' only): keep "Connection lost" up for a readable moment first.
      clearTimeout(this.backTimer ?? undefined);
      const online = () => {
        this.backTimer = null;
        if (this.snap.status === 'reconnecting' && this.client === client) this.set({ status: 'online', backAt: Date.now() });
      };
      const left = this.lostAt + LOST_SHOWN_MIN_MS - Date.now();
      if (left > 0) this.backTimer = setTimeout(online, left);
      else online();
    });
    client.on('disconnected', (d) => {
      clearTimeout(this.backTimer ?? undefined);
      this.backTimer = null;
      if (d.willReconnect) {
        for (const name of Object.keys(this.snap.channels)) this.rosterStale.add(name);
        this.lostAt = Date.now();
        this.set({ status: 'reconnecting', backAt: null });
      } else if (d.code === CloseCode.Unauthorized) {
        this.set({ status: 'offline', ended: 'Your session has expired. Please sign in again.' });
      } else if (d.code === CloseCode.AccountChanged) {
        this.set({ status: 'offline', ended: `Signed out: ${d.reason || 'an operator changed your account'}. Please sign in again.` });
      } else if (this.snap.status !== 'offline') this.set({ status: 'offline', notice: `Disconnected: ${d.reason || `code ${d.code}`}` });
    });
    let hello: Awaited<ReturnType<ParleyClient['connect']>>;
    try {
      hello = await client.connect();
    } catch (err) {
      if (err instanceof ParleyError && err.code === CloseCode.Unauthorized && s.kind === 'guest' && !s.guestToken) {
        // A name picked just now, not a session that ended: say why (taken, a registered user's).
        this.set({ status: 'offline', ended: `Cannot continue as guest: ${err.message}. Pick another name.` });
      } else if (err instanceof ParleyError && (err.code === CloseCode.Unauthorized || err.code === CloseCode.AccountChanged)) {
        this.set({ status: 'offline', ended: 'Your session has expired or was ended. Please sign in again.' });
      } else {
        this.set({ status: 'offline', connectError: `Cannot connect to the chat server (${(err as Error).message}).` });
      }
      return;
    }
    this.set({ status: 'online', me: { user: hello.user, guest: hello.guest } });
    this.keepGuestToken(client);
    const saved = this.loadJoined();
    let names = saved.length > 0 ? saved : [];
    if (names.length === 0 && !wanted) {
      // A first visit lands in `general` (the server's default channel) without a round trip
      // for the list; a server without one offers its first public channel instead.
      if (await this.join('general', true, true)) names = ['general'];
      else {
        const list = await client.list().catch(() => []);
        if (list[0]) names = [list[0].name];
      }
    }
    if (wanted && !names.includes(wanted)) names.push(wanted);
    await Promise.all(names.map((n) => this.join(n, false)));
    const active = wanted && this.snap.channels[wanted] ? wanted : (this.snap.order[0] ?? null);
    if (active) this.open(active);
    else void this.refreshDirectory();
  }

  /** A guest's name is theirs only with the token the server handed out: keep it for the next visit. */
  private keepGuestToken(client: ParleyClient): void {
    const token = client.guestToken;
    const me = this.snap.me;
    if (this.session.kind === 'guest' && token && me?.guest) saveSession({ kind: 'guest', name: me.user, guestToken: token });
  }

  stop(): void {
    this.client?.close();
    this.client = null;
    for (const t of this.rosterTimers.values()) clearTimeout(t);
    if (this.emitTimer) clearTimeout(this.emitTimer);
  }

  // ---------- channels ----------

  /** Joins (or re-opens) a channel; false with a notice when the server refuses. */
  async join(name: string, persist = true, quiet = false): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    if (this.snap.channels[name]) return true;
    try {
      const r = await client.join(name);
      const read = this.loadRead()[name];
      const ch: ChannelState = {
        name,
        messages: [],
        system: [],
        pending: [],
        lastSeq: r.lastSeq,
        lastRead: read ?? r.lastSeq,
        ownAfterRead: 0,
        history: 'unloaded',
        members: [],
        membersMore: false,
        memberTotal: null,
        online: r.members.map((m) => m.user),
        onlineGuests: guestsOf(r.members),
        onlineCount: r.online,
        typing: [],
        mutedUntil: null,
      };
      this.snap = {
        ...this.snap,
        channels: { ...this.snap.channels, [name]: ch },
        order: [...this.snap.order.filter((n) => n !== name), name],
      };
      this.schedule();
      if (persist) this.saveJoined();
      this.refreshRoster(name, 0);
      return true;
    } catch (err) {
      if (!quiet) this.set({ notice: `Cannot join #${name}: ${(err as Error).message}` });
      if (!persist) this.saveJoined();
      return false;
    }
  }

  open(name: string): void {
    if (!this.snap.channels[name]) {
      void this.join(name).then((ok) => ok && this.open(name));
      return;
    }
    this.set({ active: name });
    const ch = this.snap.channels[name];
    if (ch?.history === 'unloaded') void this.loadPage(name, null);
  }

  async loadOlder(name: string): Promise<void> {
    const ch = this.snap.channels[name];
    if (ch?.history !== 'more') return;
    await this.loadPage(name, ch.messages[0]?.seq ?? null);
  }

  private async loadPage(name: string, before: number | null): Promise<void> {
    const client = this.client;
    if (!client) return;
    const was = this.snap.channels[name]?.history;
    this.setChannel(name, { history: 'loading' });
    try {
      const page = await client.history(name, before === null ? { limit: FIRST_PAGE } : { before, limit: OLDER_PAGE });
      const items = page.messages.map(toItem);
      this.setChannel(name, (c) => ({
        messages: mergeMessages(c.messages, items),
        history: page.more ? 'more' : 'start',
        lastSeq: Math.max(c.lastSeq, items[items.length - 1]?.seq ?? 0),
      }));
    } catch (err) {
      this.setChannel(name, { history: was === 'unloaded' ? 'unloaded' : 'more' });
      this.addSystem(name, `Could not load history: ${(err as Error).message}`, 'error');
    }
  }

  async create(name: string): Promise<string | null> {
    const client = this.client;
    if (!client) return 'not connected';
    try {
      await client.create(name);
    } catch (err) {
      return (err as Error).message;
    }
    if (await this.join(name)) this.open(name);
    return null;
  }

  async leave(name: string): Promise<void> {
    await this.client?.leave(name).catch(() => undefined);
    this.forget(name);
  }

  private forget(name: string): void {
    const channels = { ...this.snap.channels };
    delete channels[name];
    const order = this.snap.order.filter((n) => n !== name);
    this.snap = { ...this.snap, channels, order, active: this.snap.active === name ? (order[0] ?? null) : this.snap.active };
    this.schedule();
    this.saveJoined();
    if (this.snap.active) this.open(this.snap.active);
  }

  async refreshDirectory(): Promise<void> {
    const list = await this.client?.list().catch(() => null);
    if (list) this.set({ directory: list });
  }

  private refreshRoster(name: string, delay = 300): void {
    if (this.rosterTimers.has(name)) return;
    const t = setTimeout(() => {
      this.rosterTimers.delete(name);
      void this.client
        ?.membersPage(name)
        .then((p) => this.setChannel(name, { members: p.members, membersMore: p.more, memberTotal: p.total }))
        .catch(() => undefined);
    }, delay);
    this.rosterTimers.set(name, t);
  }

  /** The next page of the roster (the members panel's "more"). */
  async loadMoreMembers(name: string): Promise<void> {
    const ch = this.snap.channels[name];
    const last = ch?.members.at(-1)?.user;
    if (!ch?.membersMore || !last || this.loadingMembers.has(name)) return;
    this.loadingMembers.add(name);
    try {
      const p = await this.client?.membersPage(name, { after: last });
      if (p) {
        this.setChannel(name, (c) => ({
          members: withNew(c.members, p.members),
          membersMore: p.more,
          memberTotal: p.total,
        }));
      }
    } catch {
      // Offline or busy: the button stays, a later press asks again.
    } finally {
      this.loadingMembers.delete(name);
    }
  }

  /**
   * Someone came online who is not on the roster: with the whole roster loaded that is a new
   * member (only members can be present), added here instead of asking the server for the roster
   * again — with N pages open that would be N roster reads per newcomer. With pages still unloaded
   * they may be on one of those; the panel shows them online either way.
   */
  private addNewMembers(name: string, joins: readonly { user: string; guest: boolean }[]): void {
    const ch = this.snap.channels[name];
    if (!ch || ch.memberTotal === null || ch.membersMore) return;
    const members = withNew(
      ch.members,
      joins.map((j): Member => ({ user: j.user, role: j.guest ? 'guest' : 'member', online: true })),
    );
    const added = members.length - ch.members.length;
    if (added > 0) this.setChannel(name, (c) => ({ members, memberTotal: (c.memberTotal ?? 0) + added }));
  }

  /** Roles and removals from moderation events, on the loaded roster. */
  private applyToRoster(e: ModerationEvent): void {
    if (e.action === 'kick' || e.action === 'ban') {
      this.setChannel(e.channel, (c) => {
        const members = c.members.filter((m) => m.user !== e.target);
        const gone = c.members.length - members.length;
        return { members, memberTotal: c.memberTotal === null ? null : Math.max(0, c.memberTotal - gone) };
      });
      return;
    }
    // New roles by user (a Map: names are the users', and `__proto__` is a valid one).
    const roles = new Map<string, Member['role']>();
    if (e.action === 'mod') roles.set(e.target, 'moderator');
    else if (e.action === 'unmod') roles.set(e.target, 'member');
    else if (e.action === 'transfer') roles.set(e.actor, 'moderator').set(e.target, 'owner');
    if (roles.size === 0) return;
    this.setChannel(e.channel, (c) => ({
      members: c.members.map((m) => (roles.has(m.user) ? { ...m, role: roles.get(m.user) as Member['role'] } : m)),
    }));
  }

  markRead(name: string): void {
    const ch = this.snap.channels[name];
    if (!ch || ch.lastRead >= ch.lastSeq) return;
    this.setChannel(name, { lastRead: ch.lastSeq, ownAfterRead: 0 });
    // Persisted at most once a second: a busy channel would otherwise write storage per message.
    this.readTimer ??= setTimeout(() => {
      this.readTimer = null;
      const read = this.loadRead();
      for (const c of Object.values(this.snap.channels)) read[c.name] = c.lastRead;
      this.write(userKey(this.snap.me?.user ?? '', 'read'), read);
    }, 1000);
  }

  setFollowing(name: string, following: boolean): void {
    this.following.set(name, following);
  }

  dismissNotice(): void {
    this.set({ notice: null });
  }

  // ---------- sending ----------

  /** Sends a message or runs a slash command in the active channel; a string = refused before sending. */
  submit(text: string): string | null {
    const name = this.snap.active;
    const client = this.client;
    const me = this.snap.me?.user;
    if (!name || !client || !me) return 'not connected';
    if (text.startsWith('/')) {
      void this.command(name, text.trim());
      return null;
    }
    const tooLong = lengthProblem(text);
    if (tooLong) return tooLong;
    const ch = this.snap.channels[name];
    if (ch?.mutedUntil && ch.mutedUntil > Date.now()) return 'You are muted in this channel.';
    const cmid = crypto.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;
    this.setChannel(name, (c) => ({ pending: [...c.pending, { cmid, user: me, text, ts: Date.now(), state: 'sending', error: null }] }));
    this.transmit(name, cmid, text);
    return null;
  }

  retry(name: string, cmid: string): void {
    const p = this.snap.channels[name]?.pending.find((x) => x.cmid === cmid);
    if (!p) return;
    this.setChannel(name, (c) => ({ pending: markSending(c.pending, cmid) }));
    this.transmit(name, cmid, p.text);
  }

  discard(name: string, cmid: string): void {
    this.setChannel(name, (c) => ({ pending: removePending(c.pending, cmid) }));
  }

  private transmit(name: string, cmid: string, text: string): void {
    const client = this.client;
    if (!client) return;
    client.send(name, text, { cmid }).then(
      (ack) => {
        const me = this.snap.me?.user ?? '';
        this.setChannel(name, (c) => ({
          pending: removePending(c.pending, cmid),
          messages: mergeMessages(c.messages, [{ seq: ack.seq, user: me, text, ts: ack.ts, reactions: [] }]),
          lastSeq: Math.max(c.lastSeq, ack.seq),
        }));
      },
      (err) => {
        const { text: why } = sendErrorText(err);
        this.setChannel(name, (c) => ({ pending: markFailed(c.pending, cmid, why) }));
      },
    );
  }

  private async command(name: string, text: string): Promise<void> {
    try {
      const reply = await this.client?.command(name, text);
      if (reply) this.addSystem(name, `${text}\n${reply}`, 'reply');
    } catch (err) {
      this.addSystem(name, `${text}: ${(err as Error).message}`, 'error');
    }
  }

  typing(): void {
    if (this.snap.active) this.client?.typing(this.snap.active);
  }

  async toggleReaction(name: string, seq: number, emoji: string): Promise<void> {
    const me = this.snap.me?.user;
    const m = this.snap.channels[name]?.messages.find((x) => x.seq === seq);
    if (!me || !m || !this.client) return;
    const mine = m.reactions.some((r) => r.emoji === emoji && r.users.includes(me));
    try {
      await (mine ? this.client.unreact(name, seq, emoji) : this.client.react(name, seq, emoji));
    } catch (err) {
      this.addSystem(name, `Reaction not saved: ${(err as Error).message}`, 'error');
    }
  }

  // ---------- events ----------

  private onMessage(m: Message): void {
    const me = this.snap.me?.user;
    this.setChannel(m.channel, (c) => {
      const own = m.user === me;
      // Our own message can arrive before its ack: it replaces the oldest pending copy of it.
      const twin = own ? c.pending.find((p) => p.state === 'sending' && p.text === m.text) : undefined;
      const read = this.snap.active === m.channel && c.lastRead >= c.lastSeq && own;
      let messages = c.history === 'unloaded' && !this.isActive(m.channel) ? c.messages : mergeMessages(c.messages, [toItem(m)]);
      let history = c.history;
      if (messages.length > LIVE_MAX && (this.following.get(m.channel) ?? true)) {
        messages = messages.slice(-LIVE_KEEP);
        history = 'more';
      }
      return {
        messages,
        history,
        pending: twin ? removePending(c.pending, twin.cmid) : c.pending,
        lastSeq: Math.max(c.lastSeq, m.seq),
        lastRead: read ? m.seq : c.lastRead,
        ownAfterRead: own && !read ? c.ownAfterRead + 1 : c.ownAfterRead,
        typing: c.typing.filter((u) => u !== m.user),
      };
    });
  }

  private isActive(name: string): boolean {
    return this.snap.active === name;
  }

  private onModeration(e: ModerationEvent): void {
    const me = this.snap.me?.user;
    this.addSystem(e.channel, moderationLine(e), 'moderation');
    this.applyToRoster(e);
    if (e.target === me || e.action === 'delete') {
      if (e.action === 'mute') this.setChannel(e.channel, { mutedUntil: e.until ?? Number.POSITIVE_INFINITY });
      if (e.action === 'unmute') this.setChannel(e.channel, { mutedUntil: null });
      const notice = moderationNotice(e);
      if (notice) {
        this.set({ notice });
        this.forget(e.channel);
      }
    }
    if (e.action === 'delete' && this.snap.directory) void this.refreshDirectory();
  }

  private addSystem(name: string, text: string, tone: SystemItem['tone']): void {
    this.setChannel(name, (c) => ({
      system: [...c.system, { id: ++systemIds, afterSeq: c.messages[c.messages.length - 1]?.seq ?? c.lastSeq, ts: Date.now(), text, tone }],
    }));
  }

  // ---------- persistence ----------

  private loadJoined(): string[] {
    return this.read<string[]>(userKey(this.snap.me?.user ?? '', 'joined'), []);
  }
  private saveJoined(): void {
    this.write(userKey(this.snap.me?.user ?? '', 'joined'), this.snap.order);
  }
  private loadRead(): Record<string, number> {
    return this.read<Record<string, number>>(userKey(this.snap.me?.user ?? '', 'read'), {});
  }
  private read<T>(key: string, def: T): T {
    try {
      const raw = this.storage.getItem(key);
      return raw ? (JSON.parse(raw) as T) : def;
    } catch {
      return def;
    }
  }
  private write(key: string, value: unknown): void {
    try {
      this.storage.setItem(key, JSON.stringify(value));
    } catch {
      // Storage full or disabled: the page still works, it just forgets on reload.
    }
  }
}

/** `known` with those of `more` it does not name yet appended, in order. */
function withNew(known: readonly Member[], more: readonly Member[]): Member[] {
  const names = new Set(known.map((m) => m.user));
  const out = [...known];
  for (const m of more) {
    if (names.has(m.user)) continue;
    names.add(m.user);
    out.push(m);
  }
  return out;
}

const guestsOf = (entries: readonly { user: string; guest: boolean }[]): string[] => entries.filter((e) => e.guest).map((e) => e.user);

const toItem = (m: Message): MsgItem => ({ seq: m.seq, user: m.user, text: m.text, ts: m.ts, reactions: m.reactions ?? [] });
