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

  constructor(
    private readonly dir: string,
    private readonly upstreams: string[],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get accessLog(): string {
    return join(this.dir, 'access.log');
  }

  async start(): Promise<void> {
    this.port = await findFreePort();
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
  server {
    listen 127.0.0.1:${this.port};
    include ${ROOT}/infra/nginx/api-server.conf;
  }
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
        await fetch(`${this.url}/healthz`);
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
