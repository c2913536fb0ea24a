/**
 * Two clients chatting through a local gateway.
 *
 *   npm start                                   # terminal 1, at the repo root: gateway on :8080
 *   npx tsx packages/client/examples/chat.ts     # terminal 2
 *
 * PARLEY_URL overrides the server (default http://localhost:8080).
 */
import { ErrorCode, ParleyClient, ParleyError } from '@parley/client';

const url = process.env.PARLEY_URL ?? 'http://localhost:8080';
const channel = 'sdk-demo';

/** Guests may not create channels, so Alice is a registered user: sign up once, then log in. */
async function token(username: string, password: string): Promise<string> {
  for (const route of ['/auth/signup', '/auth/login']) {
    const res = await fetch(`${url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (res.ok) return ((await res.json()) as { accessToken: string }).accessToken;
    if (res.status !== 409) throw new Error(`${route}: HTTP ${res.status} ${await res.text()}`);
  }
  throw new Error('could not log in');
}

const alice = new ParleyClient({ url, token: await token('alice_demo', 'correct-horse-battery') });
// A guest's name stays held for a day after it leaves (only its guest token brings it back), so
// each run's Bob is a new guest with a name of his own.
const bob = new ParleyClient({ url, guestName: `bob_${Math.random().toString(36).slice(2, 6)}` });

for (const [who, c] of [
  ['alice', alice],
  ['bob', bob],
] as const) {
  c.on('message', (m) => console.log(`[${who}] #${m.channel} ${m.seq} <${m.user}> ${m.text}`));
  c.on('presence', (p) =>
    console.log(
      `[${who}] #${p.channel} presence`,
      p.type === 'state' ? p.members.map((m) => m.user) : { joins: p.joins.map((j) => j.user), leaves: p.leaves },
    ),
  );
  c.on('typing', (t) => t.users.length > 0 && console.log(`[${who}] #${t.channel} typing: ${t.users.join(', ')}`));
  c.on('reaction', (r) => console.log(`[${who}] #${r.channel} ${r.user} ${r.on ? 'reacted' : 'unreacted'} ${r.emoji} on ${r.seq}`));
  c.on('disconnected', (d) => console.log(`[${who}] disconnected ${d.code} ${d.reason}, reconnect: ${d.willReconnect}`));
  c.on('error', (e) => console.error(`[${who}] error`, e.message));
}

console.log('alice is', (await alice.connect()).user, '| bob is', (await bob.connect()).user);

try {
  await alice.create(channel);
} catch (err) {
  // Second run: the channel already exists.
  if (!(err instanceof ParleyError && err.code === ErrorCode.Conflict)) throw err;
}
const { lastSeq } = await alice.join(channel);
await bob.join(channel);

// Earlier runs left messages behind: show the last few.
const { messages } = await bob.history(channel, { before: lastSeq + 1, limit: 5 });
for (const m of messages) console.log(`(history) ${m.seq} <${m.user}> ${m.text}`);

bob.typing(channel);
const { seq } = await bob.send(channel, 'hi alice!');
await alice.send(channel, 'hello bob 👋');
await alice.react(channel, seq, '👍');
console.log('command:', await alice.command(channel, '/help'));

await new Promise((r) => setTimeout(r, 500));
await bob.leave(channel);
alice.close();
bob.close();
