import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { readFile } from 'node:fs/promises';
import { sleep } from '../retry.js';
import {
  SASL_SSL_PORT_OFFSET,
  scramCredentials,
  secureListenerProperties,
  SSL_PORT_OFFSET,
  type SecureListeners,
} from './kafka-secure-listeners.js';
import { signalChild } from './signal-child.js';

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../infra/kafka/kafka.sh');

export interface LocalKafkaOptions {
  /** Data and log directory; kept between runs for `npm start`, fresh for tests. */
  dir: string;
  nodes: number;
  basePort: number;
  heap?: string;
  /** Also open SSL and SASL_SSL listeners (basePort must leave +200/+300 free). */
  secure?: SecureListeners;
}

/**
 * Real Apache Kafka (KRaft) from the jars infra/kafka fetches from Maven Central, one JVM
 * per node. Used by `npm start` when no broker is configured and by the integration and
 * fault tests, which also kill and restart single nodes.
 */
export class LocalKafka {
  private readonly procs = new Map<number, ChildProcess>();

  constructor(private readonly opts: LocalKafkaOptions) {}

  get brokers(): string[] {
    return this.addresses(0);
  }

  /** The SSL listeners (only with `secure`). */
  get sslBrokers(): string[] {
    return this.addresses(SSL_PORT_OFFSET);
  }

  /** The SASL_SSL (SCRAM-SHA-256) listeners (only with `secure`). */
  get saslSslBrokers(): string[] {
    return this.addresses(SASL_SSL_PORT_OFFSET);
  }

  private addresses(offset: number): string[] {
    return Array.from({ length: this.opts.nodes }, (_, i) => `127.0.0.1:${this.opts.basePort + offset + i}`);
  }

  async start(timeoutMs = 90_000): Promise<void> {
    mkdirSync(this.opts.dir, { recursive: true });
    run(['fetch']);
    await this.stopLeftovers();
    if (existsSync(join(this.opts.dir, 'nodes'))) this.followPort();
    else {
      const secure = this.opts.secure;
      run(
        ['format', this.opts.dir, String(this.opts.nodes), String(this.opts.basePort)],
        secure === undefined ? {} : { KAFKA_SCRAM_CREDENTIALS: scramCredentials(secure) },
      );
      for (let i = 0; secure !== undefined && i < this.opts.nodes; i++) {
        const props = join(this.opts.dir, `server-${i + 1}.properties`);
        appendFileSync(props, secureListenerProperties(secure, this.opts.basePort, i));
      }
    }
    for (let node = 1; node <= this.opts.nodes; node++) this.spawnNode(node);
    await this.waitReady(timeoutMs);
  }

  /**
   * Signals one node (e.g. SIGKILL for a crash) and waits until its process has exited; with
   * `killAfterMs`, SIGKILL follows if it is still running that long after.
   */
  async kill(node: number, signal: NodeJS.Signals = 'SIGKILL', killAfterMs?: number): Promise<void> {
    const proc = this.procs.get(node);
    if (proc === undefined) return;
    await signalChild(proc, signal, killAfterMs);
    this.procs.delete(node);
  }

  /** SIGSTOP/SIGCONT one node: a broker that hangs instead of failing. */
  pause(node: number, paused: boolean): void {
    this.procs.get(node)?.kill(paused ? 'SIGSTOP' : 'SIGCONT');
  }

  /**
   * Pauses a node and resolves once the kernel shows it stopped (state T), within `maxMs`:
   * on a loaded host a broker thread can still answer a request sent just after SIGSTOP.
   */
  async pauseUntilStopped(node: number, maxMs = 5000): Promise<void> {
    this.pause(node, true);
    const pid = this.procs.get(node)?.pid;
    if (pid === undefined) return;
    for (const started = Date.now(); Date.now() - started < maxMs;) {
      // /proc/<pid>/stat: "pid (comm) state ...": the state follows the last ')'.
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      if (/\)\s+T\s/.test(stat)) return;
      await sleep(10);
    }
  }

  restart(node: number): void {
    this.spawnNode(node);
  }

  /**
   * Stops every node: SIGTERM (a controlled shutdown), then SIGKILL for a node still running
   * after `graceMs`. NOTE: when every node of a KRaft quorum stops at once, a node can wait
   * on a quorum its peers took down with them; the 3-node fault suite's teardown once hung
   * past its 120 s bound.
   */
  async stop(graceMs = 30_000): Promise<void> {
    await Promise.all([...this.procs.keys()].map((n) => this.kill(n, 'SIGTERM', graceMs)));
  }

  /** Kills every node now, synchronously; for process 'exit' handlers. */
  killAllSync(): void {
    for (const proc of this.procs.values()) proc.kill('SIGKILL');
  }

  private spawnNode(node: number): void {
    const log = openSync(join(this.opts.dir, `stdout-${node}.log`), 'a');
    const proc = spawn('bash', [SCRIPT, 'run', resolve(this.opts.dir), String(node)], {
      stdio: ['ignore', log, log],
      // Own process group: a terminal Ctrl-C reaches the app, which stops the broker last
      // (after the consumers committed and the producers flushed), not all at once.
      detached: true,
      env: { ...process.env, KAFKA_HEAP: this.opts.heap ?? '512m' },
    });
    this.procs.set(node, proc);
    writeFileSync(this.pidFile(node), String(proc.pid));
  }

  private pidFile(node: number): string {
    return join(this.opts.dir, `broker-${node}.pid`);
  }

  /**
   * A broker an earlier run left behind (its parent was killed before the broker saw it, or
   * it is still shutting down after a quick Ctrl-C and restart) holds the ports and the data
   * directory: stop it the way `stop` would, before starting ours.
   */
  private async stopLeftovers(): Promise<void> {
    for (let node = 1; existsSync(this.pidFile(node)); node++) {
      const pid = Number(readFileSync(this.pidFile(node), 'utf8'));
      if (!isBrokerOf(pid, join(resolve(this.opts.dir), `server-${node}.properties`))) continue;
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 30_000;
      while (isAlive(pid) && Date.now() < deadline) await sleep(100);
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      while (isAlive(pid)) await sleep(50);
    }
  }

  /**
   * A kept directory was formatted for the ports of its first run; the listeners follow the
   * base port asked for now (every port keeps its offset from the base).
   */
  private followPort(): void {
    const first = join(this.opts.dir, 'server-1.properties');
    const was = /^listeners=PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/m.exec(readFileSync(first, 'utf8'));
    if (was === null) return;
    const shift = this.opts.basePort - Number(was[1]);
    if (shift === 0) return;
    for (let node = 1; node <= this.opts.nodes; node++) {
      const file = join(this.opts.dir, `server-${node}.properties`);
      const text = readFileSync(file, 'utf8').replace(
        /127\.0\.0\.1:(\d+)/g,
        (_, port: string) => `127.0.0.1:${Number(port) + shift}`,
      );
      writeFileSync(file, text);
    }
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const kafka = new Kafka({ brokers: this.brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      for (const [node, proc] of this.procs) {
        if (proc.exitCode !== null) {
          throw new Error(
            `kafka node ${node} exited with ${proc.exitCode}; see ${this.opts.dir}/broker-${node}.log`,
          );
        }
      }
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        await admin.disconnect();
        if (cluster.brokers.length === this.opts.nodes) return;
      } catch (err) {
        lastError = err;
        await admin.disconnect().catch(() => {});
      }
      await sleep(500);
    }
    throw new Error(`kafka not ready after ${timeoutMs} ms: ${String(lastError)}`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` is a broker started with this properties file (not a recycled pid). */
function isBrokerOf(pid: number, properties: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(properties);
  } catch {
    return false;
  }
}

function run(args: string[], env: Record<string, string> = {}): void {
  const res = spawnSync('bash', [SCRIPT, ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...env },
  });
  if (res.status !== 0) throw new Error(`kafka.sh ${args.join(' ')} failed with ${res.status}`);
}
