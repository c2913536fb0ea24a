import { decodeServer, type Event, encodeEvent, encodeRequest, Kind, Op, type ServerFrame, T } from '@parley/protocol';
import { type Captures, CONTENT, type EventName, type Stamp, sleep } from './bytes-events.js';
import { withDatabase } from './database.js';
import { startGateway } from './server.js';
import { signup } from './signup.js';
import { WireClient } from './wire-client.js';
import { WireTap } from './wire-tap.js';

export interface ParleyCapture {
  captures: Captures;
  stamp: Stamp;
  /** Events that arrived inside a batch frame (their size is then the single frame's, re-encoded). */
  batched: EventName[];
  /** Every captured event frame is byte-for-byte what the protocol's encodeEvent gives for its content. */
  encodeEventMatches: boolean;
}

type EventFrame = Extract<ServerFrame, { kind: typeof Kind.Event }>;
const BATCH = T.event(Op.Batch);
/** Events need 1 coalescing window (20 ms) to leave the gateway; this lets stragglers arrive before the next measurement. */
const SETTLE_MS = 150;

/**
 * Real frames from a real gateway (one process, throwaway Postgres DB, in-process broker: the
 * bytes are the same in cluster mode). Every action is done alone, after traffic has settled, so
 * each event leaves as a single frame and the TCP byte count of bob's socket is that frame's.
 */
export async function captureParley(): Promise<ParleyCapture> {
  return withDatabase(async (databaseUrl) => {
    // Typing TTL raised so no "stopped typing" re-broadcast lands inside a later measurement.
    const gw = await startGateway({ DATABASE_URL: databaseUrl, PARLEY_TYPING_TTL_MS: '60000' });
    const clients: WireClient[] = [];
    const connect = async (query: string) => {
      const c = new WireClient(gw.url, query);
      clients.push(c);
      await c.opened;
      return c;
    };
    try {
      const alice = await connect(`token=${await signup(gw.url, CONTENT.sender)}`);
      const bob = new WireClient(gw.url, `guest=${CONTENT.receiver}`);
      clients.push(bob);
      const tap = new WireTap(bob.ws);
      await bob.opened;
      const created = await alice.request((rid) => encodeRequest({ op: Op.Create, rid, name: CONTENT.channel }));
      const cid = (created as { cid: number }).cid;
      const join = (c: WireClient) => c.request((rid) => encodeRequest({ op: Op.Join, rid, name: CONTENT.channel }));
      await join(alice);
      await join(bob);
      await sleep(SETTLE_MS);

      const batched: EventName[] = [];
      let encodeEventMatches = true;
      const captures: Partial<Captures> = {};
      const capture = async (name: EventName, want: (f: EventFrame) => boolean, action: () => void | Promise<void>) => {
        let frame: EventFrame | undefined;
        const got = await tap.next((data) => {
          const r = decodeServer(data);
          frame = r.ok ? r.value.find((f): f is EventFrame => f.kind === Kind.Event && want(f)) : undefined;
          return frame !== undefined;
        }, action);
        const { kind: _, ...event } = frame as EventFrame;
        const single = encodeEvent(event as Event);
        if (got.data[0] === BATCH) {
          // Report the single event frame, as it would travel alone.
          batched.push(name);
          captures[name] = { data: Buffer.from(single), payloadBytes: single.byteLength, tcpBytes: Number.NaN };
        } else {
          captures[name] = got;
          encodeEventMatches &&= Buffer.from(single).equals(got.data);
        }
        await sleep(SETTLE_MS);
        return frame as EventFrame;
      };

      const msg = await capture(
        'chat message',
        (f) => f.op === Op.Message,
        () => alice.send(encodeRequest({ op: Op.Message, rid: 1, cid, text: CONTENT.text, cmid: null })),
      );
      const stamp = msg.op === Op.Message ? { seq: msg.seq, ts: msg.ts } : { seq: 0, ts: 0 };
      await capture(
        'typing',
        (f) => f.op === Op.Typing,
        () => alice.send(encodeRequest({ op: Op.Typing, rid: 2, cid })),
      );
      await capture(
        'reaction',
        (f) => f.op === Op.Reaction,
        () => alice.send(encodeRequest({ op: Op.React, rid: 3, cid, seq: stamp.seq, emoji: CONTENT.emoji })),
      );
      let carol: WireClient | undefined;
      await capture(
        'presence join',
        (f) => f.op === Op.PresenceDiff && f.joins.length > 0,
        async () => {
          carol = await connect(`guest=${CONTENT.joiner}`);
          carol.send(encodeRequest({ op: Op.Join, rid: 4, name: CONTENT.channel }));
        },
      );
      await capture(
        'presence leave',
        (f) => f.op === Op.PresenceDiff && f.leaves.length > 0,
        () => carol?.ws.close(),
      );
      return { captures: captures as Captures, stamp, batched, encodeEventMatches };
    } finally {
      for (const c of clients) c.close();
      await gw.stop();
    }
  });
}
