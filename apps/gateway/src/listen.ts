import { uWS } from './uws.js';

/**
 * The backlog uSockets passes to listen(2) for every listen socket (`listen(fd, 512)` in its
 * bsd.c, both builds); neither build lets an app choose it. The kernel caps it further at
 * net.core.somaxconn.
 */
export const UWS_LISTEN_BACKLOG = 512;

export interface Listener {
  port: number;
  /** How many listen sockets share the port. */
  sockets: number;
  /** Stops accepting: connections still in the kernel's queues are reset. */
  close(): void;
}

/**
 * Listens on host:port with room for about `backlog` connections that the kernel has completed
 * but the gateway has not accepted yet.
 *
 * Why: the gateway accepts only between event-loop turns, and a burst of connects arrives faster
 * than a busy turn ends. Past the accept queue (512 with one uWS listen socket) the kernel drops
 * the SYN, and the client only tries again after 1 s, then 3 s, 7 s… (measured: 287 of an
 * 800-socket burst every time; docs/architecture.md, "Connect bursts"). Behind HAProxy a dropped
 * SYN runs into `timeout connect` and failed health checks, and the client gets a 503.
 *
 * How: uSockets opens its listen sockets with SO_REUSEPORT (unless the port is 0), so this opens
 * ceil(backlog / 512) of them on one port; the kernel spreads incoming connections over them by
 * address hash, each with its own queue. With port 0 (tests) the first socket has no
 * SO_REUSEPORT: an ephemeral port is found first, then every socket is opened on it.
 */
export function listenWithBacklog(app: uWS.TemplatedApp, host: string, port: number, backlog: number): Listener {
  const wanted = Math.max(1, Math.ceil(backlog / UWS_LISTEN_BACKLOG));
  const listenOnce = (p: number): uWS.us_listen_socket | false => {
    let socket: uWS.us_listen_socket | false = false;
    app.listen(host, p, (s) => {
      socket = s; // uWS calls back before listen() returns
    });
    return socket;
  };
  // Another process can take a probed port before we listen on it again: probe anew (port 0 only).
  for (let probe = 0; probe < 3; probe++) {
    let p = port;
    if (port === 0 && wanted > 1) {
      const first = listenOnce(0);
      if (!first) break;
      p = uWS.us_socket_local_port(first);
      uWS.us_listen_socket_close(first);
    }
    const sockets: uWS.us_listen_socket[] = [];
    for (let i = 0; i < wanted; i++) {
      const s = listenOnce(p);
      if (!s) break;
      sockets.push(s);
    }
    if (sockets.length === wanted) {
      let open = true;
      return {
        port: uWS.us_socket_local_port(sockets[0] as uWS.us_listen_socket),
        sockets: wanted,
        close() {
          if (open) for (const s of sockets) uWS.us_listen_socket_close(s);
          open = false;
        },
      };
    }
    for (const s of sockets) uWS.us_listen_socket_close(s);
    if (port !== 0) break;
  }
  throw new Error(`cannot listen on ${host}:${port}`);
}
