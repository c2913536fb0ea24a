import type uWS from 'uWebSockets.js';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib';
import { SUBPROTOCOL } from '@parley/protocol';
import type { Logger } from '../logger.js';
import { gatewayFile } from '../paths.js';
import { upgradeRequired } from './http-util.js';

/**
 * The web client (apps/web's Vite build) served from memory.
 *
 * The whole bundle is read once at start (it is ~200 KiB): a request never touches the disk, so
 * no request path can name a file outside the bundle — path traversal is impossible by
 * construction, not by sanitising. Each file keeps an identity, a brotli and a gzip variant
 * (Vite's build writes `.br`/`.gz` siblings; anything without one is compressed here once).
 *
 * Caching: files under `/assets/` carry a content hash in their name, so they are
 * `immutable` for a year; everything else (index.html) is `no-cache` and revalidated by ETag,
 * which is what lets a new deploy reach browsers at once.
 *
 * Routes: exact files, then the SPA fallback — any other GET path without a file extension
 * (`/c/general`, `/admin`) answers index.html so client-side routes survive a reload. API
 * prefixes (`/auth/`, `/ws`, …) never fall back: an unknown API path is a JSON 404, not a page.
 */

export const DEFAULT_WEB_DIR = gatewayFile('..', 'web', 'dist');

interface Variant {
  body: Buffer;
  etag: string;
}
export interface StaticFile {
  type: string;
  cacheControl: string;
  identity: Variant;
  br: Variant | null;
  gzip: Variant | null;
}
export interface StaticSite {
  dir: string;
  files: Map<string, StaticFile>;
  index: StaticFile;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt', '.webmanifest', '.ico']);
/** Below this, compression saves less than the header costs. */
const MIN_COMPRESS = 512;
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Paths that belong to the API: never answered with the page (`/admin` itself is the dashboard page). */
const API_PREFIXES = ['/auth/', '/admin/', '/ws/'];
const API_PATHS = new Set(['/ws', '/metrics', '/healthz', '/readyz']);

/**
 * The page's Content-Security-Policy: scripts only from this origin (a message that smuggled
 * markup into the DOM still could not run anything), WebSockets to any host (the page may be
 * served by a different node than the one it connects to behind a proxy).
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

const etagOf = (body: Buffer, suffix: string) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}${suffix}"`;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Reads a built bundle; null when `dir` has no index.html (not built yet). */
export function loadSite(dir: string): StaticSite | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const files = new Map<string, StaticFile>();
  for (const path of walk(dir)) {
    const ext = extname(path);
    if (ext === '.br' || ext === '.gz') continue; // variants, read beside their file
    const url = `/${relative(dir, path).split(sep).join('/')}`;
    const body = readFileSync(path);
    const identity = { body, etag: etagOf(body, '') };
    let br: Variant | null = null;
    let gzip: Variant | null = null;
    if (COMPRESSIBLE.has(ext) && body.length >= MIN_COMPRESS) {
      const brBody = existsSync(`${path}.br`)
        ? readFileSync(`${path}.br`)
        : brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9 } });
      const gzBody = existsSync(`${path}.gz`) ? readFileSync(`${path}.gz`) : gzipSync(body, { level: 9 });
      if (brBody.length < body.length) br = { body: brBody, etag: etagOf(body, '-br') };
      if (gzBody.length < body.length) gzip = { body: gzBody, etag: etagOf(body, '-gz') };
    }
    files.set(url, {
      type: TYPES[ext] ?? 'application/octet-stream',
      cacheControl: url.startsWith('/assets/') ? IMMUTABLE : 'no-cache',
      identity,
      br,
      gzip,
    });
  }
  const index = files.get('/index.html');
  return index ? { dir, files, index } : null;
}

/** Which encodings the client accepts (q=0 means "not this one"). */
export function acceptedEncodings(header: string): { br: boolean; gzip: boolean } {
  const ok = { br: false, gzip: false };
  for (const part of header.toLowerCase().split(',')) {
    const [name = '', ...params] = part.trim().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q && Number(q.slice(2)) === 0) continue;
    if (name === 'br') ok.br = true;
    else if (name === 'gzip' || name === '*') ok.gzip = true;
  }
  return ok;
}

function matches(ifNoneMatch: string, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/** What to answer for a path: a file, the page (SPA fallback), or nothing (404). */
export function resolvePath(site: StaticSite, url: string): StaticFile | null {
  if (url === '/' || url === '') return site.index;
  const file = site.files.get(url);
  if (file) return file;
  if (API_PATHS.has(url) || API_PREFIXES.some((p) => url.startsWith(p))) return null;
  // A path that names a file (has an extension) and is not in the bundle is a 404, not the page:
  // a stale hashed asset must fail visibly instead of being parsed as HTML.
  const last = url.slice(url.lastIndexOf('/') + 1);
  if (last.includes('.') || url.startsWith('/assets/')) return null;
  return site.index;
}

export interface StaticOptions {
  logger: Logger;
  /** Answer for `/` when no bundle is built (keeps the gateway usable without the web client). */
  fallbackText: string;
}

/**
 * Mounts GET `/*` (and `/admin`, the dashboard page; the admin API lives under `/admin/…`).
 * uWS picks the most specific route first, so every API route keeps its handler.
 */
export function mountStatic(app: uWS.TemplatedApp, site: StaticSite | null, opts: StaticOptions): void {
  if (!site) {
    opts.logger.warn({ dir: DEFAULT_WEB_DIR }, 'web client not built (npm run build -w @parley/web); serving a text page at /');
  }
  const handler = (res: uWS.HttpResponse, req: uWS.HttpRequest) => {
    const url = req.getUrl();
    // GET /ws without an Upgrade header (uWS hands only upgrades to the ws route) lands here.
    if (url === '/ws') return upgradeRequired(res, SUBPROTOCOL);
    if (!site) {
      if (url === '/') return plain(res, 200, opts.fallbackText);
      return plain(res, 404, 'not found\n');
    }
    const file = resolvePath(site, url);
    if (!file) {
      res.cork(() => {
        res.writeStatus('404 Not Found');
        res.writeHeader('content-type', 'application/json');
        res.writeHeader('cache-control', 'no-cache');
        res.end(JSON.stringify({ error: 'not found' }));
      });
      return;
    }
    const enc = acceptedEncodings(req.getHeader('accept-encoding'));
    const variant = (enc.br && file.br) || (enc.gzip && file.gzip) || file.identity;
    const encoding = variant === file.br ? 'br' : variant === file.gzip ? 'gzip' : null;
    const notModified = matches(req.getHeader('if-none-match'), variant.etag);
    res.cork(() => {
      res.writeStatus(notModified ? '304 Not Modified' : '200 OK');
      res.writeHeader('etag', variant.etag);
      res.writeHeader('cache-control', file.cacheControl);
      if (file.br || file.gzip) res.writeHeader('vary', 'Accept-Encoding');
      if (notModified) {
        res.endWithoutBody();
        return;
      }
      res.writeHeader('content-type', file.type);
      res.writeHeader('x-content-type-options', 'nosniff');
      if (encoding) res.writeHeader('content-encoding', encoding);
      if (file === site.index) {
        res.writeHeader('content-security-policy', CSP);
        res.writeHeader('referrer-policy', 'no-referrer');
      }
      res.end(variant.body);
    });
  };
  app.get('/*', handler);
  app.get('/admin', handler);
}

function plain(res: uWS.HttpResponse, status: 200 | 404, body: string): void {
  res.cork(() => {
    res.writeStatus(status === 200 ? '200 OK' : '404 Not Found');
    res.writeHeader('content-type', 'text/plain');
    res.end(body);
  });
}
