import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { ParleyClient } from '@parley/client';
import { withDatabase } from './database.js';
import { benchPrefix } from './redis-prefix.js';
import { progress } from './report.js';
import { startGateway } from './server.js';
import { signup } from './signup.js';

/**
 * Resume: a client that missed `missed` messages reconnects and catches up through the SDK's own
 * reconnect path (rejoin + history after its last seq). Reports the catch-up time (from the
 * moment the connection is allowed again until the app has seen the last message) and checks
 * that it saw every message once, in order. With REDIS_URL set the gateway runs in cluster mode
 * and recent history comes from the Redis window (1,000 messages); older comes from Postgres.
 */
export async function resume(missed: number) {
  return withDatabase(async (databaseUrl) => {
    const env: Record<string, string> = { DATABASE_URL: databaseUrl, PARLEY_RATE_PER_S: '1000000', PARLEY_RATE_BURST: '1000000' };
    const redis = process.env.REDIS_URL ? benchPrefix(process.env.REDIS_URL) : null;
    if (redis) Object.assign(env, { REDIS_URL: process.env.REDIS_URL, PARLEY_REDIS_PREFIX: redis.prefix });
    const say = progress('resume');
    say(`starting a gateway${redis ? ' (cluster mode)' : ''}`);
    const server = await startGateway(env);
    const gate = await Gate.open(server.port);
    try {
      const token = await signup(server.url, 'resume-writer');
      const writer = new ParleyClient({ url: server.url, token });
      await writer.connect();
      await writer.create('resume');
      await writer.join('resume');
      const reader = new ParleyClient({ url: gate.url, guestName: 'resume-reader', reconnect: { minMs: 10, maxMs: 50 } });
      await reader.connect();
      await reader.join('resume');
      const seqs: number[] = [];
      reader.on('message', (m) => seqs.push(m.seq));
      await writer.send('resume', 'before');
      while (seqs.length < 1) await new Promise((r) => setTimeout(r, 5));
      gate.closed = true;
      gate.dropAll();
      say(`reader cut off; sending ${missed} messages`);
      const batch = 500;
      for (let i = 0; i < missed; i += batch) {
        await Promise.all(Array.from({ length: Math.min(batch, missed - i) }, (_, k) => writer.send('resume', `missed ${i + k}`)));
      }
      const last = missed + 1;
      say('reader may reconnect: catching up');
      const started = performance.now();
      gate.closed = false;
      while (seqs.at(-1) !== last) await new Promise((r) => setTimeout(r, 1));
      const catchUpMs = Math.round(performance.now() - started);
      const correct = seqs.length === last && seqs.every((s, i) => s === i + 1);
      writer.close();
      reader.close();
      return { missed, catchUpMs, correct, cluster: Boolean(process.env.REDIS_URL) };
    } finally {
      await gate.close();
      await server.stop();
      await redis?.cleanup();
    }
  });
}

/** A TCP pass-through the bench can cut and hold shut, like a network outage. */
class Gate {
  closed = false;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: NetServer,
    readonly url: string,
  ) {}

  static async open(target: number): Promise<Gate> {
    let gate: Gate | null = null;
    const server = createServer((client) => {
      if (!gate || gate.closed) return void client.destroy();
      const upstream = connect(target, '127.0.0.1');
      for (const s of [client, upstream]) {
        gate.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    gate = new Gate(server, `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`);
    return gate;
  }

  dropAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise((r) => this.server.close(r));
  }
}
