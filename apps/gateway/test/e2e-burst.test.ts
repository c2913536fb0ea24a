import { decodeServer, Kind, Op, SUBPROTOCOL } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Gateway } from '../src/gateway.js';
import { World } from './harness.js';

/**
 * A burst of connections to a freshly started gateway: every socket gets its Hello and stays
 * open. Regression test for uWS closing ~1 in 400 freshly upgraded sockets when an asynchronous
 * upgrade ran inside res.cork (the gateway now upgrades synchronously and authenticates in `open`;
 * see the upgrade handler in gateway.ts); with that bug back in, this
 * test failed one run in three here.
 */
describe('connection burst on a fresh gateway', () => {
  let world: World;
  let gw: Gateway;
  beforeAll(async () => {
    world = await World.create('postgres');
    gw = await world.start();
  }, 60_000);
  afterAll(() => world?.close());

  it('800 concurrent guests: all open, all greeted, none dropped', async () => {
    const n = 800;
    const outcomes = await Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws?guest=burst${i}`, SUBPROTOCOL);
            let greeted = false;
            ws.on('message', (d: Buffer) => {
              const r = decodeServer(new Uint8Array(d));
              if (r.ok && r.value.some((f) => f.kind === Kind.Event && f.op === Op.Hello)) greeted = true;
            });
            ws.on('error', () => {});
            ws.on('close', (code) => resolve(greeted ? `closed ${code} after Hello` : `closed ${code} before Hello`));
            // Hold every socket a moment after its Hello, so an early close would be seen.
            ws.on('open', () => setTimeout(() => resolve(greeted ? 'ok' : 'no Hello within 3 s'), 3000));
          }),
      ),
    );
    const failed = outcomes.filter((o) => o !== 'ok');
    expect(failed).toEqual([]);
  }, 60_000);
});
