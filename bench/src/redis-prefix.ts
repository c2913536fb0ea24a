import { Redis } from 'ioredis';

/** A key prefix for one bench run on REDIS_URL, and a cleanup that deletes every key under it. */
export function benchPrefix(url: string): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `parley_bench_${process.pid}_${Date.now().toString(36)}:`;
  return {
    prefix,
    async cleanup() {
      const r = new Redis(url);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) await r.del(...keys);
        } while (cursor !== '0');
      } finally {
        r.disconnect();
      }
    },
  };
}
