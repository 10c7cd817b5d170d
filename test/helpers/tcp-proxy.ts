import { connect, createServer, type Server, type Socket } from 'node:net';
import { startHarness, type Harness } from './harness.js';
import { uniqueName } from './ids.js';
import { testDatabaseUrl, testPostgresServer } from './postgres.js';

/**
 * A TCP proxy in front of a real server, so a test can cut a dependency off (every open
 * connection dropped, new ones refused) and bring it back on the same port.
 */
export class TcpProxy {
  private server: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {
    this.server = this.create();
  }

  async start(port = 0): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  /** Drops every connection and stops listening. */
  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    this.server = this.create();
    await this.start(this.port);
  }

  async stop(): Promise<void> {
    if (this.server.listening) await this.cut();
  }

  private create(): Server {
    return createServer((client) => {
      const upstream = connect(this.upstreamPort, this.upstreamHost);
      this.sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
  }
}

/**
 * A harness whose PostgreSQL is reached through a proxy the test can cut. Stop the harness
 * before the proxy: it drops its database through it.
 */
export async function harnessBehindPostgresProxy(
  env: Record<string, string> = {},
): Promise<{ h: Harness; proxy: TcpProxy }> {
  const server = testPostgresServer();
  const proxy = new TcpProxy(server.hostname, Number(server.port || 5432));
  const port = await proxy.start();
  const via = new URL(`postgres://${server.username}:${server.password}@127.0.0.1:${port}`);
  const h = await startHarness({
    env: {
      POSTGRES_URL: testDatabaseUrl(uniqueName('sa_it'), via),
      POSTGRES_CONNECT_TIMEOUT_MS: '500',
      ...env,
    },
  });
  return { h, proxy };
}
