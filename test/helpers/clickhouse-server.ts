import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../lib/retry.js';
import { findFreePort } from '../../lib/runtime/ports.js';
import { signalChild } from '../../lib/runtime/signal-child.js';

/**
 * A real clickhouse-server process (Debian's package, 18.16) in its own directory and
 * ports, for network and fault tests of the @clickhouse/client path: kill it, restart it.
 */
export class ClickHouseServer {
  private proc: ChildProcess | undefined;
  httpPort = 0;

  /** `users`: password users added to the package's own (default, readonly) ones. */
  constructor(
    private readonly dir: string,
    private readonly users: { name: string; password: string }[] = [],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  async start(): Promise<void> {
    if (this.httpPort === 0) {
      this.httpPort = await findFreePort();
      const tcpPort = await findFreePort();
      mkdirSync(this.dir, { recursive: true });
      this.writeUsers();
      writeFileSync(
        join(this.dir, 'config.xml'),
        `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${this.dir}/server.log</log><errorlog>${this.dir}/server.err.log</errorlog><console>0</console></logger>
  <http_port>${this.httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${this.dir}/data/</path>
  <tmp_path>${this.dir}/tmp/</tmp_path>
  <user_files_path>${this.dir}/user_files/</user_files_path>
  <format_schema_path>${this.dir}/format_schemas/</format_schema_path>
  <users_config>${this.dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
`,
      );
    }
    this.proc = spawn('clickhouse-server', [`--config-file=${join(this.dir, 'config.xml')}`], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null)
        throw new Error(`clickhouse-server exited; see ${this.dir}/server.err.log`);
      try {
        if ((await fetch(`${this.url}/ping`)).ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error('clickhouse-server did not answer /ping within 30 s');
  }

  /** The package's users.xml, plus users.d/ (read from next to it) with the extra users. */
  private writeUsers(): void {
    copyFileSync('/etc/clickhouse-server/users.xml', join(this.dir, 'users.xml'));
    mkdirSync(join(this.dir, 'users.d'), { recursive: true });
    const sha256 = (pw: string) => createHash('sha256').update(pw).digest('hex');
    const users = this.users.map(
      (u) =>
        `<${u.name}><password_sha256_hex>${sha256(u.password)}</password_sha256_hex>` +
        `<networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></${u.name}>`,
    );
    writeFileSync(
      join(this.dir, 'users.d', 'test-users.xml'),
      `<?xml version="1.0"?>\n<yandex><users>${users.join('')}</users></yandex>\n`,
    );
  }

  /** Signals the server and waits for it to exit; SIGKILL follows after `killAfterMs`, if given. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', killAfterMs?: number): Promise<void> {
    if (this.proc !== undefined) await signalChild(this.proc, signal, killAfterMs);
  }

  async query(sql: string): Promise<string> {
    const res = await fetch(`${this.url}/`, { method: 'POST', body: sql });
    const text = await res.text();
    if (!res.ok) throw new Error(`clickhouse-server: ${text}`);
    return text.trim();
  }
}
