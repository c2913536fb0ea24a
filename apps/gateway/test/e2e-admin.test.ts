import { request } from 'node:http';
import { CloseCode, ErrorCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/gateway.js';
import { next, World } from './harness.js';

const TOKEN = 'admin-token-for-tests-0123456789';

/** One HTTP call on a fresh connection (no keep-alive socket left holding the node's port). */
function call(gw: Gateway, method: string, path: string, opts: { token?: string | null; body?: unknown } = {}) {
  const token = opts.token === undefined ? TOKEN : opts.token;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers; the assertions check their shape
  return new Promise<{ status: number; json: any; text: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = request(`${gw.url}${path}`, { method, agent: false, headers });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        const json = text && String(res.headers['content-type']).includes('json') ? JSON.parse(text) : null;
        resolve({ status: res.statusCode ?? 0, json, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
  });
}

// Two nodes on real Postgres and Redis: what an operator does on one node reaches the other.
describe('admin HTTP API', () => {
  let world: World;
  let a: Gateway;
  let b: Gateway;
  let off: Gateway;
  beforeAll(async () => {
    world = await (await World.create('postgres')).withRedis();
    a = await world.start({ PARLEY_ADMIN_TOKEN: TOKEN });
    b = await world.start({ PARLEY_ADMIN_TOKEN: TOKEN });
    off = await world.start();
  }, 60_000);
  afterAll(() => world?.close());

  it('is refused without the token, with a wrong one, and on a node without one configured', async () => {
    const none = await call(a, 'GET', '/admin/users', { token: null });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Bearer');
    expect(none.json.error).toContain('Authorization: Bearer');
    expect((await call(a, 'GET', '/admin/users', { token: `${TOKEN}x` })).status).toBe(401);
    const disabled = await call(off, 'GET', '/admin/users');
    expect(disabled.status).toBe(403);
    expect(disabled.json.error).toContain('PARLEY_ADMIN_TOKEN');
    expect((await call(a, 'GET', '/admin/users')).status).toBe(200);
    // Operators see the calls, refused ones included, in /metrics.
    const { text } = await call(a, 'GET', '/metrics', { token: null });
    expect(text).toMatch(/parley_admin_requests_total\{route="GET \/admin\/users",status="401",node="n1"\} 2/);
    expect(text).toMatch(/parley_admin_requests_total\{route="GET \/admin\/users",status="200",node="n1"\} 1/);
  });

  it('bad input gets a 400 that says what is wrong; unknown routes a 404', async () => {
    expect(await call(a, 'GET', '/admin/users?limit=0')).toMatchObject({ status: 400, json: { error: expect.stringContaining('limit') } });
    expect(await call(a, 'GET', '/admin/users?limit=101')).toMatchObject({ status: 400 });
    expect(await call(a, 'GET', '/admin/users?guest=maybe')).toMatchObject({
      status: 400,
      json: { error: expect.stringContaining('guest') },
    });
    expect(await call(a, 'GET', '/admin/users/abc')).toMatchObject({ status: 400, json: { error: expect.stringContaining('id') } });
    expect(await call(a, 'GET', '/admin/users/1/messages?before=zzz')).toMatchObject({ status: 400 });
    expect(await call(a, 'GET', '/admin/users/987654321')).toMatchObject({ status: 404 });
    expect(await call(a, 'PATCH', '/admin/users/1', { body: { nick: 'x' } })).toMatchObject({ status: 400 });
    expect(await call(a, 'GET', '/admin/nope')).toMatchObject({ status: 404, json: { error: expect.stringContaining('/admin/nope') } });
  });

  it('lists users (pages, prefix, guests), shows one with its channels, pages its messages', async () => {
    const alice = await world.user(a, 'adm_alice');
    await world.user(b, 'adm_bob');
    const guest = await world.client(b, { guestName: 'adm_guest' });
    await alice.create('adm-room');
    await alice.join('adm-room');
    await guest.join('adm-room'); // a guest has a row from its first join on (issue 10, item 10)
    for (let i = 1; i <= 5; i++) await alice.send('adm-room', `hello ${i}`);

    const all = await call(a, 'GET', '/admin/users?prefix=adm_');
    expect(all.status).toBe(200);
    expect(all.json.users.map((u: { name: string }) => u.name)).toEqual(['adm_alice', 'adm_bob', 'adm_guest']);
    expect(all.json.next).toBeNull();
    const p1 = await call(a, 'GET', '/admin/users?prefix=adm_&limit=2');
    expect(p1.json.users).toHaveLength(2);
    const p2 = await call(a, 'GET', `/admin/users?prefix=adm_&limit=2&after=${p1.json.next}`);
    expect(p2.json.users.map((u: { name: string }) => u.name)).toEqual(['adm_guest']);
    expect((await call(a, 'GET', '/admin/users?prefix=adm_&guest=true')).json.users.map((u: { name: string }) => u.name)).toEqual([
      'adm_guest',
    ]);

    const aliceId = all.json.users[0].id;
    const one = await call(b, 'GET', `/admin/users/${aliceId}`);
    expect(one.json).toMatchObject({ id: aliceId, name: 'adm_alice', guest: false, channels: [{ name: 'adm-room', role: 3 }] });

    const m1 = await call(a, 'GET', `/admin/users/${aliceId}/messages?limit=3`);
    expect(m1.json.messages.map((m: { text: string }) => m.text)).toEqual(['hello 5', 'hello 4', 'hello 3']);
    expect(m1.json.messages[0]).toMatchObject({ channel: 'adm-room', seq: 5 });
    const m2 = await call(a, 'GET', `/admin/users/${aliceId}/messages?limit=3&before=${m1.json.next}`);
    expect(m2.json.messages.map((m: { text: string }) => m.text)).toEqual(['hello 2', 'hello 1']);
    expect(m2.json.next).toBeNull();
  });

  it('lists channels with members, messages and who is online now, cluster-wide; filters the active ones', async () => {
    const owner = await world.user(a, 'adm_chowner');
    await owner.create('adm-live');
    await owner.create('adm-empty');
    await owner.join('adm-live');
    const guest = await world.client(b, { guestName: 'adm_viewer' });
    await guest.join('adm-live');
    await owner.send('adm-live', 'x');
    const r = await call(b, 'GET', '/admin/channels?limit=100');
    const byName = Object.fromEntries(r.json.channels.map((c: { name: string }) => [c.name, c]));
    expect(byName['adm-live']).toMatchObject({ owner: 'adm_chowner', members: 2, lastSeq: 1, online: 2 });
    expect(byName['adm-empty']).toMatchObject({ members: 1, online: 0 });
    const active = (await call(a, 'GET', '/admin/channels?active=true&limit=100')).json.channels.map((c: { name: string }) => c.name);
    expect(active).toContain('adm-live');
    expect(active).not.toContain('adm-empty');
  });

  it('shows the moderation audit log, for one channel or all', async () => {
    const owner = await world.user(a, 'adm_mod');
    const target = await world.user(b, 'adm_target');
    await owner.create('adm-modroom');
    await owner.join('adm-modroom');
    await target.join('adm-modroom');
    await owner.command('adm-modroom', '/mute adm_target 1m too loud');
    const cid = await world.channelId('adm-modroom');
    const r = await call(a, 'GET', `/admin/audit?cid=${cid}`);
    expect(r.json.entries).toEqual([
      expect.objectContaining({ cid, action: 'mute', actor: 'adm_mod', target: 'adm_target', reason: 'too loud' }),
    ]);
    expect((await call(a, 'GET', '/admin/audit?limit=100')).json.entries.some((e: { cid: number }) => e.cid === cid)).toBe(true);
  });

  it('renaming a user closes its connections on every node (4003) and its old token; the name must be free', async () => {
    const token = await world.signup(b, 'adm_carol');
    const carol = await world.client(b, { token });
    await world.user(a, 'adm_taken');
    await carol.create('adm-rename');
    await carol.join('adm-rename');
    await carol.send('adm-rename', 'before');
    const uid = (await call(a, 'GET', '/admin/users?prefix=adm_carol')).json.users[0].id;
    expect(await call(a, 'PATCH', `/admin/users/${uid}`, { body: { name: 'adm_taken' } })).toMatchObject({ status: 409 });
    expect(await call(a, 'PATCH', `/admin/users/${uid}`, { body: { name: 'no spaces' } })).toMatchObject({ status: 400 });
    const gone = next<{ code: number; willReconnect: boolean }>(carol, 'disconnected');
    const r = await call(a, 'PATCH', `/admin/users/${uid}`, { body: { name: 'adm_carol2' } });
    expect(r).toMatchObject({ status: 200, json: { id: uid, name: 'adm_carol2' } });
    expect(await gone).toMatchObject({ code: CloseCode.AccountChanged, willReconnect: false });
    // The token names the old name: refused (4001), on any node.
    await expect(world.client(a, { token, reconnect: false })).rejects.toMatchObject({ code: CloseCode.Unauthorized });
    // And stays refused after a rename back (it once came back to life).
    expect(await call(a, 'PATCH', `/admin/users/${uid}`, { body: { name: 'adm_carol' } })).toMatchObject({ status: 200 });
    await expect(world.client(b, { token, reconnect: false })).rejects.toMatchObject({ code: CloseCode.Unauthorized });
    expect(await call(a, 'PATCH', `/admin/users/${uid}`, { body: { name: 'adm_carol2' } })).toMatchObject({ status: 200 });
    // The history keeps the name the message was sent with.
    const reader = await world.client(a, { guestName: 'adm_reader' });
    await reader.join('adm-rename');
    const page = await reader.history('adm-rename', { limit: 10 });
    expect(page.messages.map((m) => m.user)).toEqual(['adm_carol']);
  });

  it("a password reset closes the user's connections on every node and revokes its tokens; the new password works", async () => {
    const token = await world.signup(b, 'adm_erin', 'the old password');
    const erin = await world.client(b, { token });
    const uid = (await call(a, 'GET', '/admin/users?prefix=adm_erin')).json.users[0].id;
    expect(await call(a, 'PATCH', `/admin/users/${uid}`, { body: { password: 'short' } })).toMatchObject({ status: 400 });
    const guestId = (await call(a, 'GET', '/admin/users?prefix=adm_guest')).json.users[0].id;
    expect(await call(a, 'PATCH', `/admin/users/${guestId}`, { body: { password: 'a long new one' } })).toMatchObject({
      status: 400,
      json: { error: expect.stringContaining('guests') },
    });
    const gone = next<{ code: number }>(erin, 'disconnected');
    expect(await call(a, 'PATCH', `/admin/users/${uid}`, { body: { password: 'the new password' } })).toMatchObject({
      status: 200,
      json: { id: uid, name: 'adm_erin' },
    });
    expect(await gone).toMatchObject({ code: CloseCode.AccountChanged });
    await expect(world.client(a, { token, reconnect: false })).rejects.toMatchObject({ code: CloseCode.Unauthorized });
    const login = (password: string) => call(a, 'POST', '/auth/login', { token: null, body: { username: 'adm_erin', password } });
    expect((await login('the old password')).status).toBe(401);
    const fresh = await login('the new password');
    expect(fresh.status).toBe(200);
    // A token issued after the reset connects (connect() resolves on the server's Hello).
    await world.client(b, { token: fresh.json.accessToken, reconnect: false });
  });

  it('deleting a user closes its connections on every node; its messages stay; a second delete is a 404', async () => {
    const dave = await world.user(b, 'adm_dave');
    await dave.create('adm-delete');
    await dave.join('adm-delete');
    await dave.send('adm-delete', 'last words');
    const uid = (await call(a, 'GET', '/admin/users?prefix=adm_dave')).json.users[0].id;
    const gone = next<{ code: number }>(dave, 'disconnected');
    expect((await call(a, 'DELETE', `/admin/users/${uid}`)).status).toBe(204);
    expect(await gone).toMatchObject({ code: CloseCode.AccountChanged });
    expect((await call(a, 'GET', `/admin/users/${uid}`)).status).toBe(404);
    expect((await call(b, 'DELETE', `/admin/users/${uid}`)).status).toBe(404);
    expect((await call(b, 'GET', '/metrics', { token: null })).text).toMatch(
      /parley_admin_requests_total\{route="DELETE \/admin\/users\/:id",status="404",node="n2"\} 1/,
    );
    const reader = await world.client(a, { guestName: 'adm_reader2' });
    await reader.join('adm-delete');
    expect((await reader.history('adm-delete', { limit: 10 })).messages.map((m) => [m.user, m.text])).toEqual([['adm_dave', 'last words']]);
  });

  it("a deleted guest's token no longer brings it back under its name, on any node; a new guest may take the name", async () => {
    const guest = await world.client(b, { guestName: 'adm_pest' });
    await guest.join('adm-delete');
    const token = guest.guestToken as string;
    const uid = (await call(a, 'GET', '/admin/users?prefix=adm_pest')).json.users[0].id;
    const gone = next<{ code: number }>(guest, 'disconnected');
    expect((await call(a, 'DELETE', `/admin/users/${uid}`)).status).toBe(204);
    expect(await gone).toMatchObject({ code: CloseCode.AccountChanged });
    for (const gw of [a, b]) {
      await expect(world.client(gw, { guestToken: token, reconnect: false })).rejects.toMatchObject({
        code: CloseCode.Unauthorized,
        message: expect.stringContaining('removed by an operator'),
      });
    }
    const newcomer = await world.client(a, { guestName: 'adm_pest', reconnect: false });
    expect(newcomer.user).toMatchObject({ user: 'adm_pest', guest: true });
  });

  it('deleting a channel tells its members on every node and takes them out; its history goes; the name is free again', async () => {
    const owner = await world.user(a, 'adm_del_owner');
    const member = await world.client(b, { guestName: 'adm_del_member' });
    await owner.create('adm-doomed');
    await owner.join('adm-doomed');
    await member.join('adm-doomed');
    await owner.send('adm-doomed', 'soon gone');
    const cid = await world.channelId('adm-doomed');
    const told = [owner, member].map((c) =>
      next<{ channel: string; action: string; actor: string }>(c, 'moderation', (e) => e.action === 'delete'),
    );
    expect((await call(b, 'DELETE', `/admin/channels/${cid}`)).status).toBe(204);
    for (const t of told) expect(await t).toMatchObject({ channel: 'adm-doomed', action: 'delete', actor: 'operator' });
    // The SDK has left it, and every node has taken its sockets out of the channel.
    await expect(member.send('adm-doomed', 'hello?')).rejects.toMatchObject({ code: ErrorCode.NotMember });
    for (const gw of [a, b]) await expect.poll(() => gw.chat.hub.localMembers(cid).size).toBe(0);
    expect((await call(a, 'GET', '/admin/channels?limit=100')).json.channels.some((c: { cid: number }) => c.cid === cid)).toBe(false);
    expect((await call(a, 'DELETE', `/admin/channels/${cid}`)).status).toBe(404);
    expect((await call(a, 'GET', `/admin/audit?cid=${cid}`)).json.entries[0]).toMatchObject({
      action: 'delete',
      actor: 'operator',
      target: 'adm-doomed',
    });
    // A new channel of the same name starts empty.
    await owner.create('adm-doomed');
    await owner.join('adm-doomed');
    expect((await owner.history('adm-doomed', { limit: 10 })).messages).toEqual([]);
  });

  it('a send racing the deletion of its channel is refused with NotFound, not a retryable error', async () => {
    const owner = await world.user(a, 'adm_race_owner');
    await owner.create('adm-race');
    await owner.join('adm-race');
    // The row goes behind the nodes' backs: the socket is still in the channel when the send lands.
    await world.channelStore().delete(await world.channelId('adm-race'));
    await expect(owner.send('adm-race', 'into the void')).rejects.toMatchObject({
      code: ErrorCode.NotFound,
      message: expect.stringContaining('deleted'),
    });
  });
});
