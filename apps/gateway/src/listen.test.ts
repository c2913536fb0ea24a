import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { listenWithBacklog, UWS_LISTEN_BACKLOG } from './listen.js';
import { uWS } from './uws.js';

/** The backlogs of the listen sockets on `port` (`ss -ltn`: Send-Q), one per socket. */
const backlogs = (port: number): number[] =>
  execFileSync('ss', ['-ltnH', `( sport = :${port} )`], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.trim().split(/\s+/)[2]));

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true)).once('error', () => done(false));
  });

// Linux: SO_REUSEPORT spreads connections over the sockets, and `ss` shows them.
describe.runIf(process.platform === 'linux')('listenWithBacklog', () => {
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));

  it('opens ceil(backlog / 512) listen sockets on one ephemeral port, and closes them all', async () => {
    const l = listenWithBacklog(uWS.App(), '127.0.0.1', 0, 4000);
    expect(l.sockets).toBe(8);
    expect(backlogs(l.port)).toEqual(Array(8).fill(Math.min(UWS_LISTEN_BACKLOG, somaxconn)));
    expect(await accepts(l.port)).toBe(true);
    l.close();
    expect(backlogs(l.port)).toEqual([]);
    expect(await accepts(l.port)).toBe(false);
  });

  it('a backlog of 512 is one socket, as uWS alone would open', () => {
    const l = listenWithBacklog(uWS.App(), '127.0.0.1', 0, 512);
    expect(l.sockets).toBe(1);
    expect(backlogs(l.port)).toHaveLength(1);
    l.close();
  });
});
