import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Service } from '../lifecycle.js';

/** /metrics (and /healthz) for processes without an HTTP API (the ETL). */
export class MetricsServer implements Service {
  readonly name = 'metrics-http';
  private server: Server | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly host: string,
    private readonly port: number,
    private readonly healthy: () => boolean = () => true,
  ) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      if (req.url === '/metrics') {
        this.registry.metrics().then(
          (body) => {
            res.setHeader('Content-Type', this.registry.contentType);
            res.end(body);
          },
          () => {
            res.statusCode = 500;
            res.end();
          },
        );
        return;
      }
      if (req.url === '/healthz') {
        const ok = this.healthy();
        res.statusCode = ok ? 200 : 503;
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ status: ok ? 'ok' : 'unhealthy' }));
        return;
      }
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    this.server = server;
  }

  get boundPort(): number {
    const addr = this.server?.address();
    return typeof addr === 'object' && addr !== null ? addr.port : this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
