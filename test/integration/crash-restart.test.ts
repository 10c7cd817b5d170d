import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { signHs256 } from '../../lib/auth/sign-token.js';
import { findFreePort, findFreePortBlock } from '../../lib/runtime/ports.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { waitFor } from '../helpers/kafka-helpers.js';
import { exited, ROOT } from '../helpers/processes.js';
import { testDatabaseUrl } from '../helpers/postgres.js';
import { testEnv } from '../helpers/test-env.js';

const SECRET = 'crash-restart-secret-0123456789abcdef';
const SQL_PASSWORD = 'crash-restart-sql';
/** The consumers' session (the ETL's and the users replica's): what a restart would wait for. */
const SESSION_TIMEOUT_MS = 30_000;

/** Every process whose parent chain leads to `root`, and `root` itself. */
function tree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid ...: comm may hold spaces and parentheses; split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while we looked
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parent) if (ppid === out[i]) out.push(pid);
  return out;
}

/** Processes whose command line names `text` (the broker runs with its data directory in it). */
function processesNaming(text: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/**
 * `npm start` crashed the hard ways: its own processes SIGKILLed (the broker, in a process
 * group of its own, must not outlive them) and restarted at once on another Kafka port, then
 * the whole tree, broker included, mid-stream.
 * Each time the next `npm start` serves players within seconds, and every event it answered
 * 202 ends up stored exactly once.
 */
describe('npm start after a crash', function () {
  this.timeout(420_000);
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let port: number;
  let sqlPort: number;
  let proc: ChildProcess | undefined;
  let token: string;
  const film = randomUUID();
  const acked = new Set<string>();

  before(async () => {
    dataDir = join(testEnv().workDir, uniqueName('crash'));
    port = await findFreePort();
    sqlPort = await findFreePort();
    env = {
      ...process.env,
      PORT: String(port),
      LOCAL_DATA_DIR: dataDir,
      LOCAL_KAFKA_PORT: String(await findFreePortBlock(1)),
      CLICKHOUSE_DATA_DIR: join(dataDir, 'chdb'),
      CLICKHOUSE_DATABASE: uniqueName('crash'),
      POSTGRES_URL: testDatabaseUrl(uniqueName('sa_crash')),
      KAFKA_BROKERS: '',
      CLICKHOUSE_URL: '',
      JWT_SECRET: SECRET,
      SQL_HTTP_PORT: String(sqlPort),
      SQL_HTTP_USER: 'analyst',
      SQL_HTTP_PASSWORD: SQL_PASSWORD,
      ETL_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      USERS_REPLICA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
    };
    token = await signHs256(SECRET, { sub: randomUUID(), ttlSec: 3600 });
  });

  after(async () => {
    if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
      for (const pid of tree(proc.pid!).reverse()) process.kill(pid, 'SIGKILL');
      await exited(proc);
    }
  });

  function launch(): ChildProcess {
    const out = openSync(`${dataDir}.out`, 'a');
    return spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', out, out], detached: true });
  }

  /** Milliseconds from now until /readyz answers 200. */
  async function readyAfterLaunch(): Promise<number> {
    const t0 = Date.now();
    proc = launch();
    await waitFor(
      'readyz',
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status,
      (s) => s === 200 || proc!.exitCode !== null,
      180_000,
      100,
    );
    expect(proc.exitCode, readFileSync(`${dataDir}.out`, 'utf8').slice(-3000)).to.equal(null);
    return Date.now() - t0;
  }

  /** Posts batches until stopped, remembering each event the API answered 202 for. */
  function stream(): { stop: () => Promise<void> } {
    let running = true;
    const loop = (async () => {
      for (let pos = 0; running; pos += 20) {
        const events = Array.from({ length: 20 }, (_, i) => ({
          event_id: randomUUID(),
          film_id: film,
          position_sec: pos + i,
          duration_sec: 100_000,
        }));
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/progress/batch`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ events }),
        }).catch(() => undefined);
        if (res?.status === 202) for (const e of events) acked.add(e.event_id);
        else await new Promise((r) => setTimeout(r, 50));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
      },
    };
  }

  async function whileStreaming(minAcked: number, then: () => void): Promise<void> {
    const s = stream();
    const target = acked.size + minAcked;
    await waitFor(
      'acknowledged events',
      async () => acked.size,
      (n) => n >= target,
      60_000,
      20,
    );
    then();
    await s.stop();
    await exited(proc!);
  }

  it('serves players before its consumers rejoin after a SIGKILL, leaves no broker behind, and stores every 202 exactly once', async () => {
    await readyAfterLaunch();

    // The terminal's process group: npm and node, not the broker, which runs in a group of
    // its own. The broker must stop by itself; the next start must not wait for it.
    await whileStreaming(500, () => process.kill(-proc!.pid!, 'SIGKILL'));
    // The kept broker directory follows a port changed between runs.
    env.LOCAL_KAFKA_PORT = String(await findFreePortBlock(1));
    const afterGroupKill = await readyAfterLaunch();
    const props = readFileSync(join(dataDir, 'kafka', 'server-1.properties'), 'utf8');
    expect(props).to.contain(`PLAINTEXT://127.0.0.1:${env.LOCAL_KAFKA_PORT}`);
    const mine = new Set(tree(proc!.pid!));
    expect(
      processesNaming(dataDir).filter((pid) => !mine.has(pid)),
      'a broker left behind',
    ).to.deep.equal([]);

    // The whole tree, broker included, mid-stream: the broker recovers its log on restart.
    await whileStreaming(500, () => {
      for (const pid of tree(proc!.pid!).reverse()) process.kill(pid, 'SIGKILL');
    });
    expect(processesNaming(dataDir)).to.deep.equal([]);
    const afterTreeKill = await readyAfterLaunch();
    console.log(
      `      ready after a restart: ${afterGroupKill} ms (group kill), ${afterTreeKill} ms (tree kill)`,
    );
    // The target (15 s) is a figure of the machine; what must hold on any machine is that the
    // doors do not wait for a consumer group: its dead member's session alone lasts longer.
    expect(afterGroupKill).to.be.below(SESSION_TIMEOUT_MS);
    expect(afterTreeKill).to.be.below(SESSION_TIMEOUT_MS);

    const s = stream();
    await waitFor(
      'events after the restart',
      async () => acked.size,
      (n) => n >= 1500,
      60_000,
      20,
    );
    await s.stop();
    const auth = `Basic ${Buffer.from(`analyst:${SQL_PASSWORD}`).toString('base64')}`;
    const sql = `SELECT event_id, count() FROM ${env.CLICKHOUSE_DATABASE}.progress_events WHERE film_id = '${film}' GROUP BY event_id FORMAT TSV`;
    const stored = await waitFor(
      'the ETL to load every acknowledged event',
      async () => {
        const res = await fetch(`http://127.0.0.1:${sqlPort}/`, {
          method: 'POST',
          headers: { Authorization: auth },
          body: sql,
        }).catch(() => undefined);
        if (res?.status !== 200) return new Map<string, number>();
        const rows = (await res.text()).trim().split('\n').filter(Boolean);
        return new Map(rows.map((r) => r.split('\t')).map(([id, n]) => [id!, Number(n)]));
      },
      (m) => [...acked].every((id) => m.has(id)),
      180_000,
      1000,
    );
    // Events sent but never answered (cut by the kill) may be stored too; none twice.
    expect([...stored.values()].filter((n) => n !== 1)).to.deep.equal([]);
    expect([...acked].filter((id) => !stored.has(id))).to.deep.equal([]);

    process.kill(-proc!.pid!, 'SIGINT');
    await exited(proc!);
    await waitFor(
      'no process left',
      async () => processesNaming(dataDir),
      (p) => p.length === 0,
      60_000,
      200,
    );
  });
});
