import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { CloseCode, ErrorCode, encodeRequest, Op, SUBPROTOCOL } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/gateway.js';
import { World } from './harness.js';
import { historyBurst } from './history-burst.js';
import { raw } from './raw-client.js';

// Issue 10, items 2 and 3: costly requests have a budget, text frames count as malformed, and
// an honest client's backlog after a server stall is not punished as a flood.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('costly requests have a budget (Postgres)', () => {
  let world: World;
  let gw: Gateway;
  beforeAll(async () => {
    world = await World.create('postgres');
    gw = await world.start();
  });
  afterAll(() => world.close());

  it('150 guests asking for 100-message history pages 4×/s for 20 s: a canary pair keeps chatting (p95 < 250 ms, none over 2 s), memory stays bounded', async () => {
    const owner = await world.user(gw, 'archivist');
    await owner.create('archive');
    const archive = await world.channelId('archive');
    await world.messageStore().appendBatch(
      Array.from({ length: 300 }, (_, k) => ({
        cid: archive,
        userId: 1,
        user: 'archivist',
        text: `old ${k} ${'x'.repeat(80)}`,
        cmid: null,
      })),
    );
    await owner.create('canary');
    await owner.join('canary');
    const listener = await world.client(gw, { guestName: 'canary-listener' });
    await listener.join('canary');

    let rss0 = 0;
    let rssMax = 0;
    const r = await historyBurst({
      url: gw.url,
      archive: { name: 'archive', cid: archive },
      readers: 150,
      perSecond: 4,
      seconds: 20,
      limit: 100,
      canary: { channel: 'canary', sender: owner, listener },
      beforeBurst: () => {
        rss0 = rssMax = process.memoryUsage().rss;
      },
      sample: () => {
        rssMax = Math.max(rssMax, process.memoryUsage().rss);
      },
    });
    expect(r.canary.received).toBe(r.canary.sent);
    expect(r.canary.errors).toBe(0);
    // A canary starved by the readers would wait seconds for most messages. With ~200 samples the
    // p99 is the second-worst, and this 2-vCPU box stalls a process for 0.3–1 s now and then (the
    // p99 read 410, 18, 26 ms at f42727b and 39, 105, 988 ms later, same code path; 12-03), so the
    // bar is on the p95, with a bound on the worst.
    expect(r.canary.p95Ms).toBeLessThan(250);
    expect(r.canary.maxMs).toBeLessThan(2_000);
    // The readers were served (what the budget let through; on a slow machine the rest got 401 Busy).
    expect(r.served + r.busy).toBeGreaterThan(1000);
    expect(rssMax - rss0).toBeLessThan(300 * 1024 * 1024);
  }, 120_000);

  it('at most two costly requests of one connection are in flight; the rest are refused with 401 Busy', async () => {
    const g = await raw(gw, 'guest=eager');
    g.ws.send(encodeRequest({ op: Op.Join, rid: 1, name: 'archive' }));
    await expect.poll(() => g.frames.some((f) => f.rid === 1)).toBe(true);
    const cid = await world.channelId('archive');
    for (let i = 0; i < 6; i++) g.ws.send(encodeRequest({ op: Op.History, rid: 100 + i, cid, before: null, after: null, limit: 100 }));
    await expect.poll(() => g.frames.filter((f) => (f.rid ?? 0) >= 100).length).toBe(6);
    const answers = g.frames.filter((f) => (f.rid ?? 0) >= 100);
    expect(answers.filter((f) => f.kind === 1).length).toBeGreaterThanOrEqual(2);
    expect(answers.filter((f) => f.code === ErrorCode.Busy).length).toBeGreaterThanOrEqual(1);
    g.ws.close();
  });

  it('text frames are answered and count as malformed: ten close the connection with 4002', async () => {
    const g = await raw(gw, 'guest=texter');
    for (let i = 0; i < 12; i++) g.ws.send(`{"type":"message","text":"hello ${i}"}`);
    expect((await g.closed).code).toBe(CloseCode.ProtocolAbuse);
    expect(g.frames.filter((f) => f.code === ErrorCode.BadFrame).length).toBeGreaterThanOrEqual(9);
  });

  it('an honest client whose sends pile up during a 5 s server stall is not closed for flooding', async () => {
    const owner = await world.user(gw, 'stall-owner');
    await owner.create('stall');
    const cid = await world.channelId('stall');
    // The client runs in its own thread, so it keeps sending (18/s, under the 20/s limit) while
    // this thread — the gateway's — is blocked; ~100 sends then arrive at once, 60 beyond the
    // burst: without the stall credit they are refused and their 50 strikes close it (4008).
    const worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const WebSocket = require(workerData.ws);
      const ws = new WebSocket(workerData.url, workerData.protocol);
      let closed = null;
      const replies = [];
      ws.on('message', (d) => replies.push(d.length));
      ws.on('close', (code, reason) => { closed = { code, reason: reason.toString() }; });
      ws.on('open', () => {
        ws.send(Buffer.from(workerData.join));
        setTimeout(() => {
          let i = 0;
          const t = setInterval(() => {
            if (i >= workerData.sends.length) { clearInterval(t); return; }
            ws.send(Buffer.from(workerData.sends[i++]));
          }, 55);
        }, 500);
      });
      parentPort.on('message', () => parentPort.postMessage({ closed, replies: replies.length }));
      `,
      {
        eval: true,
        workerData: {
          ws: createRequire(import.meta.url).resolve('ws'),
          url: `${gw.url.replace('http', 'ws')}/ws?guest=steady`,
          protocol: SUBPROTOCOL,
          join: encodeRequest({ op: Op.Join, rid: 1, name: 'stall' }),
          sends: Array.from({ length: 150 }, (_, i) =>
            encodeRequest({ op: Op.Message, rid: 10 + i, cid, text: `steady ${i}`, cmid: `s${i}` }),
          ),
        },
      },
    );
    const ask = () =>
      new Promise<{ closed: { code: number } | null; replies: number }>((resolve) => {
        worker.once('message', resolve);
        worker.postMessage('?');
      });
    try {
      await sleep(1500); // joined, sending steadily
      const until = Date.now() + 5500;
      while (Date.now() < until) {} // the stall: this thread (the gateway) reads nothing for 5.5 s
      await sleep(6000); // the backlog is read, then the rest of the sends
      expect((await ask()).closed).toBeNull();
      const h = await owner.join('stall').then(() => owner.history('stall', { limit: 100 }));
      expect(h.messages.length).toBe(100); // all 150 stored (the page is 100)
    } finally {
      await worker.terminate();
    }
  }, 60_000);
});
