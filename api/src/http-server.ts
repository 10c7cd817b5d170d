import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import type { Service } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { answerClientError, answerUnmetExpectation } from './http/client-error.js';

/** The Koa app on a port. stop() refuses new connections and lets in-flight requests finish. */
export class HttpServer implements Service {
  readonly name = 'http';
  private server: Server | undefined;

  constructor(
    private readonly app: Koa,
    private readonly host: string,
    private readonly port: number,
    private readonly log: Logger,
    /** Longest a client may take to send one request (config.http.requestTimeoutMs). */
    private readonly requestTimeoutMs = 30_000,
  ) {}

  async start(): Promise<void> {
    const handle = this.app.callback();
    // Koa's handler settles its own errors (error middleware + app 'error' event).
    // Node checks its request timeouts every connectionsCheckingInterval (30 s by default):
    // a slow client could hold a connection up to twice the bound before its 408.
    const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => void handle(req, res));
    server.on('clientError', answerClientError);
    server.on('checkExpectation', answerUnmetExpectation);
    server.keepAliveTimeout = 65_000; // longer than nginx's upstream keepalive_timeout
    server.requestTimeout = this.requestTimeoutMs;
    server.headersTimeout = Math.min(66_000, this.requestTimeoutMs);
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
