import { encodeRequest, Kind, Op } from '@parley/protocol';
import { WireClient } from './wire-client.js';

/** One storm client's life, in ms since the storm started (performance.now() based). */
export interface Attempt {
  /** When its WebSocket was created. */
  startedAt: number;
  openedAt?: number;
  joinedAt?: number;
  /** Node id from the gateway's Hello: where HAProxy sent it. */
  node?: string;
  /** Why it never joined: a kind shared by similar failures (counted) … */
  failure?: string;
  /** … and the full message of this one. */
  detail?: string;
  failedAt?: number;
  /** It was joined and then its socket closed while the storm was still observed. */
  closedAfterJoin?: string;
}

export interface Storm {
  attempts: Attempt[];
  clients: WireClient[];
  /** WebSocket messages (and their payload bytes) clients received: Hello, the Join reply, presence diff batches. */
  received(): { messages: number; bytes: number };
  settled(): number;
  /** Marks every unsettled attempt as timed out. */
  expire(now: number): void;
}

/**
 * Opens `n` guest connections to `url` in one synchronous loop (no pacing, no retries) and has
 * each join `channelOf(i)` as soon as it is open. Every outcome is recorded per attempt; a failed
 * attempt is never retried: the storm measures what a burst of real clients would see.
 */
export function storm(url: string, n: number, channelOf: (i: number) => string, t0: number, onSettled: () => void): Storm {
  const attempts: Attempt[] = [];
  const clients: WireClient[] = [];
  const received = { messages: 0, bytes: 0 };
  let settled = 0;
  const now = () => performance.now() - t0;
  const fail = (a: Attempt, failure: string, detail: string) => {
    if (a.joinedAt !== undefined || a.failure) return;
    Object.assign(a, { failure, detail, failedAt: now() });
    settled += 1;
    onSettled();
  };
  for (let i = 0; i < n; i++) {
    const a: Attempt = { startedAt: now() };
    attempts.push(a);
    const c = new WireClient(url, `guest=storm-${i}`);
    clients.push(c);
    c.onFrame = (f) => {
      if (f.kind === Kind.Event && f.op === Op.Hello) a.node = f.node;
    };
    const [decode] = c.ws.listeners('message'); // WireClient's decoder, the only listener so far
    c.ws.on('message', (d: Buffer) => {
      received.messages += 1;
      received.bytes += d.byteLength;
    });
    c.ws.once('close', (code: number, reason: Buffer) => {
      const why = `close ${code}${reason.length ? ` "${reason.toString()}"` : ''}`;
      if (a.joinedAt !== undefined) a.closedAfterJoin ??= why;
      else if (a.openedAt === undefined) fail(a, `${why} before open`, why);
      else {
        // Whether the gateway got as far as its Hello tells where the socket was lost.
        const stage = `after open${a.node ? ' and Hello' : ', no Hello'}, before the Join reply`;
        fail(a, `${why} ${stage}`, `${why} ${Math.round(now() - a.openedAt)} ms after open${a.node ? ` (Hello from ${a.node})` : ''}`);
      }
    });
    c.opened
      .then(() => {
        a.openedAt = now();
        return c.request((rid) => encodeRequest({ op: Op.Join, rid, name: channelOf(i) }));
      })
      .then(
        () => {
          if (a.failure) return;
          a.joinedAt = now();
          // From here on only count: every join sends a presence diff to the whole channel
          // (O(N²/channels) events in a storm), and one generator process decoding all of them
          // for every client would measure itself, not the gateways.
          if (decode) c.ws.off('message', decode as (d: Buffer) => void);
          settled += 1;
          onSettled();
        },
        (e: unknown) => {
          const msg = e instanceof Error ? e.message : String(e);
          // Before open: a connection error (ECONNRESET, an HTTP status); after: the Join's error frame.
          // Ports are dropped from the kind so that one cause counts as one kind.
          fail(a, a.openedAt === undefined ? `error before open: ${msg.replace(/:\d{4,5}\b/g, ':<port>')}` : `Join refused: ${msg}`, msg);
        },
      );
  }
  return {
    attempts,
    clients,
    received: () => ({ ...received }),
    settled: () => settled,
    expire(at) {
      for (const a of attempts) {
        if (a.joinedAt === undefined && !a.failure) {
          fail(
            a,
            a.openedAt === undefined ? 'timeout: never opened' : 'timeout: opened, no Join reply',
            `not settled after ${Math.round(at)} ms`,
          );
        }
      }
    },
  };
}
