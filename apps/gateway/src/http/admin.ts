import type uWS from 'uWebSockets.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { NAME_RULE } from '../core/names.js';
import type { Logger } from '../logger.js';
import type { AdminStore, MessageCursor } from '../ports/admin-store.js';
import type { ModerationStore } from '../ports/moderation-store.js';
import type { PresenceStore } from '../ports/presence-store.js';
import { AuthError, AuthService } from './auth.js';
import { guard, HttpError, readJson, send, sendJson } from './http-util.js';

/**
 * The admin HTTP API for operators (docs/admin-api.md): users, channels, the moderation audit
 * log. Every route wants `Authorization: Bearer <PARLEY_ADMIN_TOKEN>`; without a configured token
 * every route answers 403. JSON in and out; errors are `{ "error": "…" }` with a 4xx status.
 */
export interface AdminDeps {
  token: string | null;
  admin: AdminStore;
  moderation: ModerationStore;
  presence: PresenceStore;
  /** Closes a user's connections on every node (after a rename or a delete). */
  dropEverywhere(uid: number): Promise<void>;
  /** Deletes a channel, tells its members and takes them out of it on every node; false if none. */
  deleteChannel(cid: number): Promise<boolean>;
  /** Counts every call: `${method} ${pattern}` and its status. */
  count(route: string, status: number): void;
  logger: Logger;
}

interface Call {
  params: string[];
  query: URLSearchParams;
  body: unknown;
}
type Reply = { status: number; body?: unknown };
type Method = 'get' | 'patch' | 'del';

const MAX_LIMIT = 100;
const DEFAULT_LIMIT = 50;

function int(name: string, raw: string | null, def: number | null, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === null || raw === '') {
    if (def === null) throw new HttpError(400, `${name}: required`);
    return def;
  }
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new HttpError(400, `${name}: expected an integer from ${min} to ${max}, got "${raw.slice(0, 40)}"`);
  }
  return n;
}
const id = (name: string, raw: string) => int(name, raw, null, 1);
const limit = (q: URLSearchParams) => int('limit', q.get('limit'), DEFAULT_LIMIT, 1, MAX_LIMIT);

function flag(name: string, raw: string | null): boolean | null {
  if (raw === null || raw === '') return null;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new HttpError(400, `${name}: expected true or false`);
}

/** A message page cursor: "<ts>.<cid>.<seq>", as `next` gave it. */
const cursorText = (c: MessageCursor) => `${c.ts}.${c.cid}.${c.seq}`;
function cursor(raw: string | null): MessageCursor | null {
  if (raw === null || raw === '') return null;
  const m = /^(\d{1,16})\.(\d{1,16})\.(\d{1,16})$/.exec(raw);
  const [ts, cid, seq] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
  // Each part within 2^53 - 1, like every id and time (beyond it the database refused: a 500).
  if (!m || ![ts, cid, seq].every((n) => Number.isSafeInteger(n))) {
    throw new HttpError(400, 'before: expected the "next" value of the previous page');
  }
  return { ts: ts as number, cid: cid as number, seq: seq as number };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const BAD_TEXT = /[\u0000-\u001f\u007f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Free text in a query (a name prefix): no NUL or other control characters, no unpaired surrogates (the database refuses them). */
function text(name: string, raw: string | null, max: number): string | null {
  if (raw === null || raw === '') return null;
  if (raw.length > max) throw new HttpError(400, `${name}: at most ${max} characters`);
  if (BAD_TEXT.test(raw)) throw new HttpError(400, `${name}: control characters or invalid Unicode`);
  return raw;
}

export function mountAdmin(app: uWS.TemplatedApp, d: AdminDeps): void {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const want = d.token === null ? null : digest(d.token);
  const authorized = (header: string): boolean => {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    return want !== null && m?.[1] !== undefined && timingSafeEqual(digest(m[1]), want);
  };

  const route = (method: Method, pattern: string, handler: (c: Call) => Promise<Reply>, withBody = false) => {
    const label = `${method === 'del' ? 'DELETE' : method.toUpperCase()} ${pattern}`;
    app[method](pattern, (res, req) => {
      const st = guard(res);
      // Everything from `req` now: it is only valid during this call (uWS). The body reader too.
      const header = req.getHeader('authorization');
      const query = new URLSearchParams(req.getQuery() ?? '');
      const params = (pattern.match(/:\w+/g) ?? []).map((_, i) => req.getParameter(i) ?? '');
      const body = withBody ? readJson(res) : Promise.resolve(undefined);
      body.catch(() => {}); // a refused call never reads it
      (async (): Promise<Reply> => {
        if (!want) throw new HttpError(403, 'the admin API is disabled on this node: set PARLEY_ADMIN_TOKEN');
        if (!authorized(header)) throw new HttpError(401, 'missing or wrong admin token: send Authorization: Bearer <PARLEY_ADMIN_TOKEN>');
        return handler({ params, query, body: await body });
      })()
        .then((r) => {
          d.count(label, r.status);
          if (r.status === 204) send(res, st, 204, '');
          else sendJson(res, st, r.status, r.body);
        })
        .catch((err) => {
          const status = err instanceof HttpError || err instanceof AuthError ? err.status : 500;
          d.count(label, status);
          if (status === 500) d.logger.error({ err, route: pattern }, 'admin route failed');
          const headers: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer realm="parley-admin"' } : {};
          send(
            res,
            st,
            status,
            JSON.stringify({ error: status === 500 ? 'internal error' : (err as Error).message }),
            'application/json',
            headers,
          );
        });
    });
  };
  const found = <T>(v: T | null, what: string): T => {
    if (v === null) throw new HttpError(404, `no ${what}`);
    return v;
  };

  route('get', '/admin/users', async ({ query }) => {
    const n = limit(query);
    const prefix = text('prefix', query.get('prefix'), 32);
    const users = await d.admin.users({
      after: int('after', query.get('after'), 0, 0),
      limit: n,
      prefix,
      guest: flag('guest', query.get('guest')),
    });
    const counts = await d.admin.userCounts();
    return { status: 200, body: { users, next: users.length === n ? (users.at(-1)?.id ?? null) : null, counts } };
  });

  route('get', '/admin/users/:id', async ({ params }) => {
    const uid = id('id', params[0] ?? '');
    return { status: 200, body: found(await d.admin.user(uid), `user ${uid}`) };
  });

  route('get', '/admin/users/:id/messages', async ({ params, query }) => {
    const uid = id('id', params[0] ?? '');
    const n = limit(query);
    const before = cursor(query.get('before'));
    const messages = await d.admin.userMessages(uid, { before, limit: n });
    if (messages.length === 0) found(await d.admin.user(uid), `user ${uid}`); // none, or no such user?
    const last = messages.at(-1);
    return { status: 200, body: { messages, next: messages.length === n && last ? cursorText(last) : null } };
  });

  route(
    'patch',
    '/admin/users/:id',
    async ({ params, body }) => {
      const uid = id('id', params[0] ?? '');
      const { name: rawName, password } = (typeof body === 'object' && body !== null ? body : {}) as { name?: unknown; password?: unknown };
      if (rawName === undefined && password === undefined) {
        throw new HttpError(400, 'expected {"name": "<new name>"} and/or {"password": "<new password>"}');
      }
      const name = rawName === undefined ? undefined : AuthService.validName(rawName);
      if (name === null) throw new HttpError(400, NAME_RULE);
      const passwordHash = password === undefined ? undefined : await AuthService.hashPassword(password);
      const r = await d.admin.update(uid, { ...(name !== undefined ? { name } : {}), ...(passwordHash ? { passwordHash } : {}) });
      if (r === 'taken') throw new HttpError(409, `name "${name}" is taken`);
      if (r === 'guest') throw new HttpError(400, 'guests have no password');
      const user = found(r, `user ${uid}`);
      // Its sessions carry the old name, or tokens issued before the reset: closed everywhere, and
      // those tokens are refused from now on (their name, or their token epoch, no longer matches).
      await d.dropEverywhere(uid);
      d.logger.info({ uid, renamed: name !== undefined, passwordReset: passwordHash !== undefined }, 'admin: user updated');
      return { status: 200, body: user };
    },
    true,
  );

  route('del', '/admin/users/:id', async ({ params }) => {
    const uid = id('id', params[0] ?? '');
    if (!(await d.admin.deleteUser(uid))) throw new HttpError(404, `no user ${uid}`);
    await d.dropEverywhere(uid);
    d.logger.info({ uid }, 'admin: user deleted');
    return { status: 204 };
  });

  route('get', '/admin/channels', async ({ query }) => {
    const n = limit(query);
    const active = flag('active', query.get('active'));
    const page = await d.admin.channels({ after: int('after', query.get('after'), 0, 0), limit: n });
    // Online = distinct users with a live connection in the channel, cluster-wide (presence).
    const online = await Promise.all(page.map((c) => d.presence.page(c.cid, 0).then((p) => p.online)));
    const channels = page.map((c, i) => ({ ...c, online: online[i] ?? 0 })).filter((c) => active === null || c.online > 0 === active);
    return { status: 200, body: { channels, next: page.length === n ? (page.at(-1)?.cid ?? null) : null } };
  });

  route('del', '/admin/channels/:cid', async ({ params }) => {
    const cid = id('cid', params[0] ?? '');
    if (!(await d.deleteChannel(cid))) throw new HttpError(404, `no channel ${cid}`);
    d.logger.info({ cid }, 'admin: channel deleted');
    return { status: 204 };
  });

  route('get', '/admin/audit', async ({ query }) => {
    const cidRaw = query.get('cid');
    const cid = cidRaw === null || cidRaw === '' ? null : id('cid', cidRaw);
    const n = limit(query);
    const entries = await d.moderation.auditLog(cid, n, int('before', query.get('before'), Number.MAX_SAFE_INTEGER, 1));
    return { status: 200, body: { entries, next: entries.length === n ? (entries.at(-1)?.id ?? null) : null } };
  });

  app.any('/admin/*', (res, req) => {
    const st = guard(res);
    sendJson(res, st, 404, { error: `no admin route ${req.getMethod().toUpperCase()} ${req.getUrl()}` });
  });
}
