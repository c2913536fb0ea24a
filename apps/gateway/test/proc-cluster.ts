import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, until } from './redis-cluster.js';

const GATEWAY_DIR = join(import.meta.dirname, '..');
const HAPROXY_CFG = join(import.meta.dirname, '../../../infra/haproxy/haproxy.cfg');

/** One gateway process on a fixed port (so it can be restarted behind the same HAProxy server line). */
export class GatewayProc {
  proc: ChildProcess | null = null;
  log: string[] = [];
  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: GATEWAY_DIR,
      env: { ...process.env, ...this.env, PARLEY_NODE_ID: this.name, PARLEY_PORT: String(this.port), PARLEY_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    const onData = (d: Buffer) => this.log.push(...d.toString().split('\n').filter(Boolean));
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    await until(
      `${this.name} ready`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`${this.name} exited:\n${this.log.slice(-20).join('\n')}`);
        return fetch(`${this.url}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        );
      },
      60_000,
      50,
    );
  }

  /** SIGTERM (drain) or SIGKILL (crash); resolves when the process is gone. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<number | null> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill(signal);
    return exited;
  }
}

/** N gateway processes behind a real HAProxy using the repo's infra/haproxy/haproxy.cfg. */
export class ProcCluster {
  lbUrl = '';
  private haproxy: ChildProcess | null = null;
  private constructor(
    readonly nodes: GatewayProc[],
    private readonly dir: string,
  ) {}

  static async start(n: number, env: Record<string, string>): Promise<ProcCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'parley-cluster-'));
    const nodes: GatewayProc[] = [];
    // The tests' sign-ups and guests all come through one load balancer's address, and the allowances are the cluster's.
    const withDefaults = { PARLEY_SIGNUPS_PER_ADDR: '100000', PARLEY_GUESTS_PER_ADDR: '0', ...env };
    for (let i = 1; i <= n; i++) nodes.push(new GatewayProc(`gw${i}`, await freePort(), withDefaults));
    const c = new ProcCluster(nodes, dir);
    await Promise.all(nodes.map((g) => g.start()));
    const servers = ['backend gateways', ...nodes.map((g) => `    server ${g.name} 127.0.0.1:${g.port}`)].join('\n');
    await writeFile(join(dir, 'servers.cfg'), `${servers}\n`);
    const lbPort = await freePort();
    c.haproxy = spawn('haproxy', ['-db', '-f', HAPROXY_CFG, '-f', join(dir, 'servers.cfg')], {
      env: { ...process.env, PARLEY_LB_BIND: `127.0.0.1:${lbPort}` },
      stdio: 'ignore',
    });
    c.lbUrl = `http://127.0.0.1:${lbPort}`;
    await until('haproxy routes', () =>
      fetch(`${c.lbUrl}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      ),
    );
    return c;
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((g) => g.stop('SIGKILL')));
    this.haproxy?.kill('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}
