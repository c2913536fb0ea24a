import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A minimal TCP forwarder standing in for the load balancer in single-process tests: clients keep
 * one address while gateways behind it stop and start on new ports. (The cluster tests use HAProxy.)
 */
export class TcpProxy {
  private server: Server;
  private readonly sockets = new Set<Socket>();
  target: number | null = null;
  port = 0;

  constructor() {
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => client.destroy());
      if (this.target === null) return void client.destroy();
      const upstream = connect(this.target, '127.0.0.1');
      this.sockets.add(upstream);
      upstream.on('close', () => {
        this.sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return `http://127.0.0.1:${this.port}`;
  }

  /** Cuts every proxied connection (a dead node, from the clients' side); keeps listening. */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}
