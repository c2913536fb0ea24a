import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/gateway.js';
import { acceptedEncodings, loadSite, resolvePath } from '../src/http/static.js';
import { World } from './harness.js';

/** GET without decompression (node:http leaves Content-Encoding to us), on a fresh connection. */
function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const INDEX = `<!doctype html><html><head><title>Parley</title><script type="module" src="/assets/app-abc123.js"></script></head><body><div id="root"></div>${' '.repeat(600)}</body></html>`;
const APP_JS = `console.log(${JSON.stringify('x'.repeat(4000))});`;

describe('static web client (http/static.ts)', () => {
  let dir = '';
  let world: World;
  let gw: Gateway;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-web-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), INDEX);
    await writeFile(join(dir, 'assets', 'app-abc123.js'), APP_JS);
    await writeFile(join(dir, 'assets', 'style-def456.css'), `body{color:red}${'/* pad */'.repeat(100)}`);
    await writeFile(join(dir, 'assets', 'logo-1a2b3c.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(join(dir, 'assets', 'font-9z8y7x.woff2'), Buffer.from([0x77, 0x4f, 0x46, 0x32]));
    world = await World.create('pglite');
    gw = await world.start({ PARLEY_WEB_DIR: dir, PARLEY_ADMIN_TOKEN: 'a'.repeat(32) });
  });
  afterAll(async () => {
    await world?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves index.html at / with its content type, no-cache, an ETag and a CSP', async () => {
    const r = await get(`${gw.url}/`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.headers.etag).toMatch(/^"[\w-]+"$/);
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.body.toString()).toBe(INDEX);
  });

  it('gives each type its content type; hashed assets are immutable', async () => {
    const cases: [string, string][] = [
      ['/assets/app-abc123.js', 'text/javascript; charset=utf-8'],
      ['/assets/style-def456.css', 'text/css; charset=utf-8'],
      ['/assets/logo-1a2b3c.svg', 'image/svg+xml'],
      ['/assets/font-9z8y7x.woff2', 'font/woff2'],
    ];
    for (const [path, type] of cases) {
      const r = await get(`${gw.url}${path}`);
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toBe(type);
      expect(r.headers['cache-control'], path).toBe('public, max-age=31536000, immutable');
    }
  });

  it('answers If-None-Match with 304 and no body, per encoding', async () => {
    const first = await get(`${gw.url}/assets/app-abc123.js`, { 'accept-encoding': 'br' });
    const again = await get(`${gw.url}/assets/app-abc123.js`, { 'accept-encoding': 'br', 'if-none-match': first.headers.etag ?? '' });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(first.headers.etag);
    // The gzip representation has its own tag: a br tag does not validate it.
    const gz = await get(`${gw.url}/assets/app-abc123.js`, { 'accept-encoding': 'gzip', 'if-none-match': first.headers.etag ?? '' });
    expect(gz.status).toBe(200);
    const page = await get(`${gw.url}/`);
    expect((await get(`${gw.url}/`, { 'if-none-match': `W/${page.headers.etag}` })).status).toBe(304);
  });

  it('compresses with brotli or gzip as the client accepts, and not otherwise', async () => {
    const br = await get(`${gw.url}/assets/app-abc123.js`, { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toBe('Accept-Encoding');
    expect(brotliDecompressSync(br.body).toString()).toBe(APP_JS);
    expect(br.body.length).toBeLessThan(APP_JS.length / 10);
    const gz = await get(`${gw.url}/assets/app-abc123.js`, { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe(APP_JS);
    const none = await get(`${gw.url}/assets/app-abc123.js`, { 'accept-encoding': 'br;q=0, identity' });
    expect(none.headers['content-encoding']).toBeUndefined();
    expect(none.body.toString()).toBe(APP_JS);
  });

  it('falls back to index.html for client routes, but not for missing files', async () => {
    for (const path of ['/c/general', '/c/some-channel', '/admin', '/login']) {
      const r = await get(`${gw.url}${path}`);
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toBe('text/html; charset=utf-8');
      expect(r.body.toString(), path).toBe(INDEX);
    }
    for (const path of ['/assets/app-old999.js', '/favicon.ico', '/robots.txt', '/assets/nothing']) {
      expect((await get(`${gw.url}${path}`)).status, path).toBe(404);
    }
  });

  it('leaves the API routes to their handlers', async () => {
    expect((await get(`${gw.url}/healthz`)).body.toString()).toBe('ok\n');
    expect((await get(`${gw.url}/readyz`)).status).toBe(200);
    expect((await get(`${gw.url}/metrics`)).body.toString()).toContain('parley_');
    const admin = await get(`${gw.url}/admin/users`);
    expect(admin.status).toBe(401);
    expect(admin.headers['content-type']).toBe('application/json');
    const authed = await get(`${gw.url}/admin/users`, { authorization: `Bearer ${'a'.repeat(32)}` });
    expect(JSON.parse(authed.body.toString())).toHaveProperty('users');
    // A GET on an unknown API path is a JSON 404, never the page.
    for (const path of ['/auth/login', '/auth/nope', '/ws/x', '/admin/nope']) {
      const r = await get(`${gw.url}${path}`);
      expect(r.status, path).toBeGreaterThanOrEqual(400);
      expect(r.headers['content-type'], path).toBe('application/json');
    }
    // The WebSocket endpoint still upgrades.
    const c = await world.client(gw, { guestName: 'static-probe' });
    expect(c.user?.user).toBe('static-probe');
  });

  it('never serves a file outside the bundle', async () => {
    await writeFile(join(dir, '..', 'parley-secret.txt'), 'secret');
    try {
      for (const path of [
        '/../parley-secret.txt',
        '/%2e%2e/parley-secret.txt',
        '/assets/..%2f..%2fparley-secret.txt',
        '/..%2fparley-secret.txt',
      ]) {
        const r = await get(`${gw.url}${path}`);
        expect(r.body.toString(), path).not.toContain('secret');
      }
    } finally {
      await rm(join(dir, '..', 'parley-secret.txt'), { force: true });
    }
    // Only names read at start exist: the lookup is a map, not the file system.
    const site = loadSite(dir);
    expect(site && [...site.files.keys()].sort()).toEqual([
      '/assets/app-abc123.js',
      '/assets/font-9z8y7x.woff2',
      '/assets/logo-1a2b3c.svg',
      '/assets/style-def456.css',
      '/index.html',
    ]);
    expect(site && resolvePath(site, '/../../etc/passwd.txt')).toBeNull();
  });

  it('parses Accept-Encoding with q-values', () => {
    expect(acceptedEncodings('gzip, deflate, br')).toEqual({ br: true, gzip: true });
    expect(acceptedEncodings('br;q=0, gzip;q=0.5')).toEqual({ br: false, gzip: true });
    expect(acceptedEncodings('identity')).toEqual({ br: false, gzip: false });
    expect(acceptedEncodings('')).toEqual({ br: false, gzip: false });
  });

  it('without a built bundle, / keeps the plain-text answer', async () => {
    const gw2 = await world.start({ PARLEY_WEB_DIR: join(dir, 'missing') });
    const r = await get(`${gw2.url}/`);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain('Parley chat gateway');
  });
});
