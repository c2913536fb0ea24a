import { CloseCode, closeRetryAfterMs, decodeServer, Kind, Op, type ServerFrame, SUBPROTOCOL } from '@parley/protocol';
import { backoffDelay, shouldReconnect } from './backoff.js';
import { ParleyError } from './errors.js';
import type { DisconnectInfo, Hello, ReconnectOptions } from './types.js';

/** The part of the WebSocket API shared by browsers and `ws`. */
interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
type SocketCtor = new (url: string, protocols?: string | string[]) => SocketLike;

const OPEN = 1;
const noop = (): void => {};

let nodeSocket: Promise<SocketCtor> | undefined;
async function socketCtor(): Promise<SocketCtor> {
  const g = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof g === 'function') return g as SocketCtor;
  // A non-literal specifier keeps bundlers from pulling `ws` into browser builds.
  const specifier = 'ws';
  nodeSocket ??= import(/* @vite-ignore */ specifier).then((m: { WebSocket?: unknown; default?: unknown }) => {
    const ctor = m.WebSocket ?? m.default;
    if (typeof ctor !== 'function') throw new Error('no WebSocket implementation: install `ws`');
    return ctor as SocketCtor;
  });
  return nodeSocket;
}

/** Map an HTTP refusal of the upgrade to the close code that means the same thing. */
function upgradeRefusal(message: unknown): { code: number; reason: string } | undefined {
  const m = /Unexpected server response: (\d+)/.exec(typeof message === 'string' ? message : '');
  if (!m) return undefined;
  const status = Number(m[1]);
  const reason = `HTTP ${status} at upgrade`;
  if (status === 401) return { code: CloseCode.Unauthorized, reason };
  if (status === 426) return { code: CloseCode.UnsupportedVersion, reason };
  // Other client errors will not go away by retrying; 408, 429 and 5xx (draining) will.
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { code: 4000, reason };
  return { code: 1006, reason };
}

/** Close code of a connection that ended without a close frame (RFC 6455). */
const ABNORMAL = 1006;
/**
 * Transport drops (1006) tolerated before the first Hello before connect() rejects. Not for a
 * gateway fault: its ~1 in 400 fresh sockets closed by uWS (#1928) and the SYNs it dropped past a
 * full accept queue are fixed there (docs/architecture.md, "Connect bursts"). What is left comes
 * from outside it: a load balancer's 503 while no node is up or one drains, a Hello later than
 * helloTimeoutMs, a connection refused or reset on the way.
 */
const FIRST_CONNECT_RETRIES = 3;

export interface ConnectionHooks {
  /** Every Hello, including after reconnects (`first` only for the one `connect()` resolves with). */
  hello(hello: Hello, first: boolean): void;
  frame(frame: ServerFrame): void;
  /** The socket is gone; called once per established connection and once when giving up. */
  down(info: DisconnectInfo): void;
  /** Undecodable server data: the connection stays up. */
  error(err: Error): void;
}

export interface ConnectionOptions {
  /** Called per attempt, so a token can be refreshed between reconnects. */
  url: () => Promise<string>;
  reconnect: ReconnectOptions | false;
  helloTimeoutMs: number;
}

type State = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/**
 * One logical connection across many sockets: opens, waits for Hello, and reconnects with
 * backoff (or after the server's drain delay) until closed or told not to come back.
 */
export class Connection {
  private state: State = 'idle';
  private socket: SocketLike | undefined;
  /** Bumped for every socket so callbacks from an abandoned one are ignored. */
  private epoch = 0;
  private ready = false;
  private attempt = 0;
  private drainDelay: number | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private helloTimer: ReturnType<typeof setTimeout> | undefined;
  private first: { resolve(h: Hello): void; reject(e: Error): void; promise: Promise<Hello> } | undefined;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly hooks: ConnectionHooks,
  ) {}

  get isOpen(): boolean {
    return this.ready;
  }
  get isClosed(): boolean {
    return this.state === 'closed' || this.state === 'idle';
  }

  connect(): Promise<Hello> {
    if (this.first) return this.first.promise;
    if (this.state === 'open' || this.state === 'reconnecting') {
      return Promise.reject(new ParleyError(0, 'already connected'));
    }
    let resolve!: (h: Hello) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<Hello>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.first = { resolve, reject, promise };
    this.state = 'connecting';
    this.attempt = 0;
    void this.open();
    return promise;
  }

  /** Send one encoded frame; false when there is no ready socket. */
  send(bytes: Uint8Array): boolean {
    const s = this.socket;
    if (!this.ready || !s || s.readyState !== OPEN) return false;
    s.send(bytes);
    return true;
  }

  close(): void {
    if (this.state === 'closed' || this.state === 'idle') return;
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    this.abandon(1000, 'client closed');
  }

  private async open(): Promise<void> {
    const epoch = ++this.epoch;
    let Ctor: SocketCtor;
    let url: string;
    try {
      Ctor = await socketCtor();
      url = await this.opts.url();
    } catch (err) {
      if (epoch === this.epoch) this.closed(epoch, 1006, err instanceof Error ? err.message : String(err));
      return;
    }
    if (epoch !== this.epoch || this.state === 'closed') return;
    let s: SocketLike;
    try {
      s = new Ctor(url, SUBPROTOCOL);
    } catch (err) {
      this.closed(epoch, 1006, err instanceof Error ? err.message : String(err));
      return;
    }
    this.socket = s;
    s.binaryType = 'arraybuffer';
    s.onopen = () => {
      if (epoch !== this.epoch) return;
      // The server may accept the upgrade and then stall; do not wait forever for Hello.
      this.helloTimer = setTimeout(() => {
        if (epoch === this.epoch && !this.ready) this.abandon(1006, 'no hello from server');
      }, this.opts.helloTimeoutMs);
    };
    s.onmessage = (ev) => {
      if (epoch === this.epoch) this.data(ev.data);
    };
    // A refused upgrade (bad token, wrong version, draining) closes with a bare 1006. `ws` at
    // least names the HTTP status in its error; browsers do not expose it at all.
    let refused: { code: number; reason: string } | undefined;
    s.onerror = (ev) => {
      refused = upgradeRefusal((ev as { message?: unknown }).message);
    };
    s.onclose = (ev) => this.closed(epoch, refused?.code ?? ev.code, refused?.reason ?? ev.reason);
  }

  private data(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) {
      this.hooks.error(new ParleyError(100, 'server sent a non-binary frame'));
      return;
    }
    const decoded = decodeServer(new Uint8Array(data));
    if (!decoded.ok) {
      this.hooks.error(new ParleyError(100, `undecodable server frame: ${decoded.error}`));
      return;
    }
    const epoch = this.epoch;
    for (const f of decoded.value) {
      if (epoch !== this.epoch) return; // a frame in this batch closed the socket
      if (f.kind === Kind.Event && f.op === Op.Hello) {
        const h: Hello = { user: f.user, guest: f.guest, node: f.node, heartbeatMs: f.heartbeatMs };
        if (f.guestToken !== undefined) h.guestToken = f.guestToken;
        this.greeted(h);
      } else if (f.kind === Kind.Event && f.op === Op.Reconnect) {
        this.drain(f.delayMs);
      } else {
        this.hooks.frame(f);
      }
    }
  }

  private greeted(hello: Hello): void {
    if (this.ready) return;
    clearTimeout(this.helloTimer);
    this.ready = true;
    this.state = 'open';
    this.attempt = 0;
    const first = this.first;
    this.first = undefined;
    this.hooks.hello(hello, first !== undefined);
    first?.resolve(hello);
  }

  /** Server asked us to move (drain): leave now, come back after its (already jittered) delay. */
  private drain(delayMs: number): void {
    this.drainDelay = Math.max(0, delayMs);
    this.abandon(1000, 'reconnect requested');
  }

  /** Drop the current socket without waiting for its closing handshake, and act as if it closed. */
  private abandon(code: number, reason: string): void {
    const s = this.socket;
    const epoch = this.epoch;
    if (s) {
      // Keep an error handler: `ws` throws on an 'error' event without one.
      s.onopen = noop;
      s.onmessage = noop;
      s.onclose = noop;
      s.onerror = noop;
      try {
        s.close(1000, reason);
      } catch {
        // already closing
      }
    }
    this.closed(epoch, code, reason);
  }

  private closed(epoch: number, code: number, reason: string): void {
    if (epoch !== this.epoch) return;
    this.epoch++;
    clearTimeout(this.helloTimer);
    const wasReady = this.ready;
    this.ready = false;
    this.socket = undefined;

    if (this.first && code === ABNORMAL && this.opts.reconnect && this.attempt < FIRST_CONNECT_RETRIES && this.state === 'connecting') {
      // The transport dropped before the Hello (no close frame, no refusal): a transient failure,
      // not an answer from the server. Try again a few times before reporting it.
      this.retryTimer = setTimeout(
        () => {
          if (this.state === 'connecting') void this.open();
        },
        backoffDelay(this.attempt++, this.opts.reconnect),
      );
      return;
    }
    if (this.first) {
      // The server refused (or kept failing): report it to the caller, do not retry on our own.
      const first = this.first;
      this.first = undefined;
      this.state = 'closed';
      first.reject(new ParleyError(code, reason || `connection closed (${code})`));
      return;
    }
    if (this.state === 'closed') {
      if (wasReady) this.hooks.down({ code, reason, willReconnect: false });
      return;
    }
    // A rate-abuse close (4008) names when we may come back: then, not before, and not never.
    const told = code === CloseCode.RateLimitAbuse ? closeRetryAfterMs(reason) : null;
    const drain = this.drainDelay ?? (told === null ? undefined : told + Math.floor(Math.random() * 1000));
    this.drainDelay = undefined;
    const retry = this.opts.reconnect;
    if (!retry || (drain === undefined && !shouldReconnect(code))) {
      this.state = 'closed';
      this.hooks.down({ code, reason, willReconnect: false });
      return;
    }
    const delayMs = drain ?? backoffDelay(this.attempt++, retry);
    this.state = 'reconnecting';
    // Failed attempts while already reconnecting are not news to the app.
    if (wasReady) this.hooks.down({ code, reason, willReconnect: true, delayMs });
    this.retryTimer = setTimeout(() => {
      if (this.state === 'reconnecting') void this.open();
    }, delayMs);
  }
}
