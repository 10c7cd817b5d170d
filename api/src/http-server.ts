import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import type { Service } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';

/** The Koa app on a port. stop() refuses new connections and lets in-flight requests finish. */
export class HttpServer implements Service {
  readonly name = 'http';
  private server: Server | undefined;

  constructor(
    private readonly app: Koa,
    private readonly host: string,
    private readonly port: number,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const handle = this.app.callback();
    // Koa's handler settles its own errors (error middleware + app 'error' event).
    const server = createServer((req, res) => void handle(req, res));
    server.keepAliveTimeout = 65_000; // longer than nginx's upstream keepalive_timeout
    server.headersTimeout = 66_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    this.server = server;
    this.log.info({ host: this.host, port: this.boundPort }, 'http_listening');
  }

  get boundPort(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }
}
