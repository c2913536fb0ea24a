import { request } from 'node:http';
import { CloseCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/gateway.js';
import { World } from './harness.js';

// Issue 10, "Also": unknown paths and a plain GET /ws get an HTTP answer, not a dropped connection.

function get(url: string, method = 'GET'): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP answers for what no route serves', () => {
  let world: World;
  let gw: Gateway;
  beforeAll(async () => {
    world = await World.create('pglite');
    gw = await world.start();
  });
  afterAll(() => world.close());

  it('GET /ws without an upgrade: 426 naming the subprotocol', async () => {
    const r = await get(`${gw.url}/ws`);
    expect(r.status).toBe(426);
    expect(r.headers.upgrade).toBe('websocket');
    expect(JSON.parse(r.body).error).toContain('parley.v1');
  });

  it('unknown paths and methods: 404 (client routes without an extension are the web page)', async () => {
    for (const [method, path] of [
      ['POST', '/nothing'],
      ['DELETE', '/healthz'],
      ['PUT', '/auth/login'],
    ] as const) {
      const r = await get(`${gw.url}${path}`, method);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(JSON.parse(r.body).error).toContain(path);
    }
    for (const path of ['/no/such/file.js', '/auth/nothing', '/admin/nothing']) {
      expect((await get(`${gw.url}${path}`)).status, `GET ${path}`).toBe(404);
    }
    expect((await get(`${gw.url}/healthz`)).status).toBe(200); // still serving
  });
});

describe('connections per account', () => {
  let world: World;
  let gw: Gateway;
  beforeAll(async () => {
    world = await World.create('pglite');
    gw = await world.start({ PARLEY_MAX_CONNS_PER_USER: '3' });
  });
  afterAll(() => world.close());

  it('one more than the cap is refused with 4009; closing one makes room', async () => {
    const token = await world.signup(gw, 'many-tabs');
    const tabs = await Promise.all([1, 2, 3].map(() => world.client(gw, { token })));
    const refused = await world.client(gw, { token }).catch((e: { code: number; message: string }) => e);
    expect(refused).toMatchObject({ code: CloseCode.TooManyConnections, message: expect.stringContaining('at most 3') });
    tabs[0]!.close();
    await expect
      .poll(() =>
        world.client(gw, { token }).then(
          () => true,
          () => false,
        ),
      )
      .toBe(true);
  });
});
