import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../lib/retry.js';
import { findFreePort } from '../../lib/runtime/ports.js';
import { ROOT } from './processes.js';

/**
 * The real nginx (Debian package) in front of API instances, with the project's own edge
 * rules (infra/nginx/http.conf and api-server.conf included verbatim); only the upstream
 * addresses, listen port and file paths differ from production.
 */
export class NginxEdge {
  private proc: ChildProcess | undefined;
  port = 0;
  /** With `tls`: the plain-HTTP listener (infra/nginx/plain-http.conf), as production's port 80. */
  plainPort = 0;

  /** `tls`: serve HTTPS with this certificate and infra/nginx/tls.conf, as production's port 443. */
  constructor(
    private readonly dir: string,
    private readonly upstreams: string[],
    private readonly tls?: { certFile: string; keyFile: string },
  ) {}

  get url(): string {
    return `${this.tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.port}`;
  }

  get plainUrl(): string {
    return this.tls === undefined ? this.url : `http://127.0.0.1:${this.plainPort}`;
  }

  private servers(): string {
    const api = `    include ${ROOT}/infra/nginx/api-server.conf;`;
    if (this.tls === undefined) return `  server {\n    listen 127.0.0.1:${this.port};\n${api}\n  }`;
    return `  server {
    listen 127.0.0.1:${this.port} ssl;
    ssl_certificate ${this.tls.certFile};
    ssl_certificate_key ${this.tls.keyFile};
    include ${ROOT}/infra/nginx/tls.conf;
${api}
  }
  server {
    listen 127.0.0.1:${this.plainPort};
    include ${ROOT}/infra/nginx/plain-http.conf;
  }`;
  }

  get accessLog(): string {
    return join(this.dir, 'access.log');
  }

  async start(): Promise<void> {
    this.port = await findFreePort();
    if (this.tls !== undefined) this.plainPort = await findFreePort();
    mkdirSync(this.dir, { recursive: true });
    const d = this.dir;
    writeFileSync(
      join(d, 'nginx.conf'),
      `worker_processes 1;
error_log ${d}/error.log warn;
pid ${d}/nginx.pid;
events { worker_connections 1024; }
http {
  client_body_temp_path ${d}/body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  include ${ROOT}/infra/nginx/http.conf;
  access_log ${d}/access.log json_access;
  upstream api {
${this.upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=10s;`).join('\n')}
    keepalive 16;
  }
${this.servers()}
}
`,
    );
    this.proc = spawn(
      'nginx',
      ['-p', d, '-c', join(d, 'nginx.conf'), '-e', join(d, 'error.log'), '-g', 'daemon off;'],
      {
        stdio: 'ignore',
      },
    );
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`nginx exited; see ${d}/error.log`);
      try {
        // The plain listener answers /healthz in both modes; no TLS client needed to probe.
        await fetch(`${this.plainUrl}/healthz`);
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error('nginx did not start');
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGQUIT');
    await exited;
  }
}
