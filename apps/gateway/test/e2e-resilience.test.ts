import { CloseCode, decodeServer, encodeRequest, Op, SUBPROTOCOL } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Gateway } from '../src/gateway.js';
import { next, World } from './harness.js';
import { TcpProxy } from './tcp-proxy.js';

const FAST = { PARLEY_RATE_PER_S: '100000', PARLEY_RATE_BURST: '100000' };

describe('resilience on one node', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.create('pglite');
  });
  afterAll(() => world.close());

  it('drain + restart on the same address: clients reconnect, resume with no gap or duplicate, queued sends land once', async () => {
    let gw: Gateway = await world.start(FAST);
    const lb = new TcpProxy();
    const url = await lb.listen();
    lb.target = gw.port;
    const viaLb = { url, reconnect: { minMs: 20, maxMs: 200 } };
    const a = await world.client(gw, { ...viaLb, token: await world.signup(gw, 'sender') });
    const b = await world.client(gw, { ...viaLb, token: await world.signup(gw, 'receiver') });
    await a.create('resume');
    await a.join('resume');
    await b.join('resume');
    const got: string[] = [];
    b.on('message', (m) => got.push(m.text));
    for (let i = 0; i < 10; i++) await a.send('resume', `m${i}`);
    const reconnectHint = next(b, 'disconnected');
    await gw.drain(); // tells every client to reconnect elsewhere, flushes, closes
    await reconnectHint;
    // While the node is down, the sender keeps sending: the SDK queues them.
    const pending = Array.from({ length: 10 }, (_, i) => a.send('resume', `m${10 + i}`));
    gw = await world.start(FAST);
    lb.target = gw.port;
    const acks = await Promise.all(pending);
    expect(new Set(acks.map((x) => x.seq)).size).toBe(10);
    await expect.poll(() => got.length, { timeout: 10_000 }).toBe(20);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    const h = await b.history('resume', { after: 0, limit: 100 });
    expect(h.messages.map((m) => m.text)).toEqual(got);
    await lb.close();
  });

  it('a slow consumer is shed typing first, then closed with 4101 so it can resume from its last seq', async () => {
    const gw = await world.start({ ...FAST, PARLEY_SHED_BYTES: '1024', PARLEY_MAX_BACKPRESSURE: '65536' });
    const fast = await world.user(gw, 'firehose');
    await fast.create('flood');
    await fast.join('flood');
    const typer = await world.client(gw, { token: await world.signup(gw, 'typer'), typingIntervalMs: 0 });
    await typer.join('flood');
    const slow = await stopsReading(gw, `token=${await world.signup(gw, 'sloth')}`, 'flood');
    const closed = new Promise<number>((r) => slow.ws.on('close', (code) => r(code)));
    const body = 'x'.repeat(3900);
    const metricsText = async () => (await fetch(`${gw.url}/metrics`)).text();
    const slowClosed = /parley_closes_total\{code="4101"[^}]*\} [1-9]/;
    // Typing goes out when the list of typers changes: the typer types, then sends (which ends its
    // typing), each round — two typing events to shed.
    for (let round = 0; round < 400 && !slowClosed.test(await metricsText()); round++) {
      typer.typing('flood');
      await Promise.all([...Array.from({ length: 50 }, () => fast.send('flood', body)), typer.send('flood', 'typed')]);
    }
    slow.resume();
    expect(await closed).toBe(CloseCode.SlowConsumer);
    const metrics = await metricsText();
    expect(metrics).toMatch(/parley_shed_total\{[^}]*\} [1-9]/);
  });

  it("sockets that stop reading are closed for the node's send budget before any reaches its own cap; a reader is untouched", async () => {
    // Each socket may buffer 4 MiB, the node 4 MiB in all: three stalled sockets pass the node's
    // budget (at ~1.4 MiB each) long before any passes its own cap.
    const gw = await world.start({ ...FAST, PARLEY_MAX_BACKPRESSURE: String(4 << 20), PARLEY_NODE_MAX_BACKPRESSURE: String(4 << 20) });
    const fast = await world.user(gw, 'hose');
    await fast.create('budget');
    await fast.join('budget');
    const reader = await world.user(gw, 'reader');
    await reader.join('budget');
    let read = 0;
    reader.on('message', () => read++);
    const closes: { code: number; reason: string }[] = [];
    const stalled = await Promise.all([1, 2, 3].map((i) => stopsReading(gw, `guest=stalled${i}`, 'budget')));
    for (const s of stalled) s.ws.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }));
    const body = 'y'.repeat(3900);
    const closedSlow = /parley_closes_total\{code="4101"[^}]*\} [1-9]/;
    let sent = 0;
    for (let round = 0; round < 600 && !closedSlow.test(await (await fetch(`${gw.url}/metrics`)).text()); round++) {
      await Promise.all(Array.from({ length: 50 }, () => fast.send('budget', body)));
      sent += 50;
    }
    for (const s of stalled) s.resume();
    // The largest were closed for the node's budget, with its reason; none for its own cap.
    // Reading what they buffered first (MBs of frames) can take a while on a loaded box.
    await expect
      .poll(() => closes.filter((c) => c.code === CloseCode.SlowConsumer && c.reason.includes('node send budget')).length, {
        timeout: 15_000,
      })
      .toBeGreaterThan(0);
    expect(closes.filter((c) => c.code === CloseCode.SlowConsumer && !c.reason.includes('node send budget'))).toEqual([]);
    for (const s of stalled) s.ws.terminate();
    await expect.poll(() => read, { timeout: 10_000 }).toBe(sent);
  });
});

/** A raw connection (`query`: its credentials) that joins `channel`, then stops reading its socket. */
async function stopsReading(gw: Gateway, query: string, channel: string): Promise<{ ws: WebSocket; resume(): void }> {
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws?${query}`, SUBPROTOCOL);
  let joined = false;
  ws.on('message', (d: Buffer) => {
    const r = decodeServer(new Uint8Array(d));
    if (r.ok && r.value.some((f) => f.kind === 1 && f.op === Op.Join)) joined = true;
  });
  await new Promise((r) => ws.once('open', r));
  ws.send(encodeRequest({ op: Op.Join, rid: 1, name: channel }));
  await expect.poll(() => joined).toBe(true);
  const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();
  return { ws, resume: () => socket.resume() };
}
