import { ParleyClient } from '@parley/client';
import { withDatabase } from './database.js';
import { benchPrefix } from './redis-prefix.js';
import { progress } from './report.js';
import { startGateway } from './server.js';
import { signup } from './signup.js';

/**
 * Cross-node delivery latency at a light load: two gateways in cluster mode on REDIS_URL
 * (default the local Redis), a sender on node A, a receiver on node B; `rate` messages/s for
 * `seconds`; each message carries its send time. Reports p50/p99/max of send → receive.
 */
export async function xnode(rate: number, seconds: number) {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const { prefix, cleanup } = benchPrefix(redisUrl);
  return withDatabase(async (databaseUrl) => {
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      PARLEY_REDIS_PREFIX: prefix,
      PARLEY_RATE_PER_S: '100000',
      PARLEY_RATE_BURST: '100000',
    };
    const say = progress('xnode');
    say('starting 2 gateways');
    const [a, b] = await Promise.all([
      startGateway({ ...env, PARLEY_NODE_ID: 'bench-a' }),
      startGateway({ ...env, PARLEY_NODE_ID: 'bench-b' }),
    ]);
    try {
      const accessToken = await signup(a.url, 'xnode-sender');
      const sender = new ParleyClient({ url: a.url, token: accessToken });
      const receiver = new ParleyClient({ url: b.url, guestName: 'xnode-receiver' });
      await Promise.all([sender.connect(), receiver.connect()]);
      await sender.create('xnode');
      await sender.join('xnode');
      await receiver.join('xnode');
      const lat: number[] = [];
      receiver.on('message', (m) => lat.push(performance.timeOrigin + performance.now() - Number(m.text)));
      const total = rate * seconds;
      say(`sending ${rate}/s for ${seconds}s`);
      for (let i = 0; i < total; i++) {
        void sender.send('xnode', String(performance.timeOrigin + performance.now()));
        await new Promise((r) => setTimeout(r, 1000 / rate));
      }
      const deadline = Date.now() + 5000;
      while (lat.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      sender.close();
      receiver.close();
      lat.sort((x, y) => x - y);
      const pct = (p: number) => Math.round((lat[Math.floor((lat.length - 1) * p)] ?? Number.NaN) * 100) / 100;
      return { rate, seconds, delivered: lat.length, sent: total, p50Ms: pct(0.5), p99Ms: pct(0.99), maxMs: pct(1) };
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await cleanup();
    }
  });
}
