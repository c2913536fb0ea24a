import { type Captures, CONTENT, EVENTS, type EventName } from './bytes-events.js';
import { captureParley } from './bytes-parley.js';
import { seedMessages } from './bytes-seed.js';
import { captureSocketIo } from './bytes-socketio.js';
import { machine, progress, reportHead, round, writeReport } from './report.js';
import { wsHeaderBytes } from './wire-tap.js';

interface Size {
  payload: number;
  /** payload + RFC 6455 header of an unmasked server→client frame */
  wire: number;
}
interface Row {
  event: EventName;
  parley: Size;
  socketio: Size;
  seed: Size;
}

const size = (payload: number): Size => ({ payload, wire: payload + wsHeaderBytes(payload) });
const pctOf = (a: number, b: number) => `${round((100 * a) / b)} %`;

/**
 * bytes: wire bytes per chat message, typing, reaction and presence join/leave event, as one
 * receiving client gets them, in Parley (real gateway frames), Socket.IO 4.8 (real server frames,
 * idiomatic emits) and the seed's verbose JSON (built from its documented shapes). The TCP bytes
 * bob's socket received for each event are checked against payload + frame header.
 */
export async function bytes(out: string) {
  const say = progress('bytes');
  say('parley: gateway + throwaway DB, alice/bob/carol in "general"');
  const p = await captureParley();
  say(`parley: captured ${EVENTS.length} events (seq ${p.stamp.seq}, ts ${p.stamp.ts})`);
  say('socket.io: in-process 4.8 server, lean Engine.IO v4 clients');
  const s = await captureSocketIo(p.stamp);
  const seed = seedMessages(p.stamp);

  const rows: Row[] = EVENTS.map((event) => ({
    event,
    parley: size(p.captures[event].payloadBytes),
    socketio: size(s[event].payloadBytes),
    seed: size(Buffer.byteLength(seed[event])),
  }));
  // Every measured frame must account for exactly what its socket received; a difference means
  // another frame slipped into the window (or the header rule is wrong), and is reported.
  const tcpMismatches = [...tcpCheck('parley', p.captures, rows, (r) => r.parley), ...tcpCheck('socketio', s, rows, (r) => r.socketio)];

  const md = markdown(rows, p.captures, s, seed, {
    ...machine(),
    text: CONTENT.text,
    seq: p.stamp.seq,
    ts: p.stamp.ts,
    parleyBatched: p.batched,
    parleyEncodeEventMatches: p.encodeEventMatches,
    tcpMismatches,
  });
  const path = writeReport(out, 'bytes.md', md);
  say(`wrote ${path}`);
  return {
    md: path,
    parleyEncodeEventMatches: p.encodeEventMatches,
    parleyBatched: p.batched,
    tcpVerified: tcpMismatches.length === 0,
    ...(tcpMismatches.length ? { tcpMismatches } : {}),
    events: Object.fromEntries(
      rows.map((r) => [
        r.event,
        {
          parley: r.parley,
          socketio: r.socketio,
          seed: r.seed,
          parleyPctOfSeedWire: round((100 * r.parley.wire) / r.seed.wire),
          parleyPctOfSocketioWire: round((100 * r.parley.wire) / r.socketio.wire),
        },
      ]),
    ),
  };
}

function tcpCheck(system: string, captures: Captures, rows: Row[], pick: (r: Row) => Size) {
  return rows
    .map((r) => ({ system, event: r.event, expected: pick(r).wire, tcp: captures[r.event].tcpBytes }))
    .filter((x) => !Number.isNaN(x.tcp) && x.tcp !== x.expected); // NaN: a batched Parley frame, listed apart
}

function markdown(
  rows: Row[],
  parley: Captures,
  socketio: Captures,
  seed: Record<EventName, string>,
  meta: Record<string, unknown>,
): string {
  const table = (title: string, pick: (x: Size) => number) => [
    `## ${title}`,
    '',
    '| event | Parley bytes | Socket.IO bytes | seed JSON bytes | Parley / seed % | Parley / Socket.IO % |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const [a, b, c] = [pick(r.parley), pick(r.socketio), pick(r.seed)];
      return `| ${r.event} | ${a} | ${b} | ${c} | ${pctOf(a, c)} | ${pctOf(a, b)} |`;
    }),
    '',
  ];
  const frames = EVENTS.flatMap((e) => [
    `**${e}**`,
    '',
    '```',
    `Parley     ${parley[e].data.toString('hex').replace(/(..)(?!$)/g, '$1 ')}`,
    `Socket.IO  ${socketio[e].data.toString()}`,
    `seed       ${seed[e]}`,
    '```',
    '',
  ]);
  return [
    ...reportHead('bytes', 'npm run bench -- bytes', meta),
    'One event as one receiving client (bob) gets it. Parley: frames captured from a real gateway',
    '(alice sends, types, reacts; carol joins then disconnects). Socket.IO 4.8: frames captured from a',
    'real server emitting the idiomatic way (`io.to(channel).emit(...)`, `socket.to(channel).emit(...)`),',
    'read by a plain `ws` client speaking Engine.IO v4. Seed: the JSON shapes of docs/protocol.md §8',
    "(the seed README shows none), built and JSON.stringify'd, not captured. Same text, names, channel,",
    `seq and ts everywhere. Wire = payload + WebSocket frame header (server → client, unmasked: 2 bytes`,
    'up to 125 B, 4 up to 65,535 B); for Parley and Socket.IO it is checked against the TCP bytes the',
    'receiving socket really read (`tcpMismatches` above lists any difference). The channel is fresh, so',
    '`seq` is 1: a seq ≥ 128 costs Parley 2 more bytes in the message and reaction frames (≥ 65,536: 4),',
    'and Socket.IO one more byte per extra digit.',
    '',
    ...table('On the wire (payload + frame header)', (x) => x.wire),
    ...table('WebSocket payload', (x) => x.payload),
    '## The frames',
    '',
    ...frames,
  ].join('\n');
}
