/**
 * npm run bench:device-load [-- --devices 100000 --rounds 10 --calls 300 --batches 1,3,7,20]:
 * what PostgreSQL spends to load devices the API does not hold, per device, for this
 * release's device-load statement (api/src/experiments/device-load-sql.ts, on the schema of
 * every migration) against the previous release's `device_read_or_register` function (on the
 * schema of migrations 1-4, with the assignments' foreign keys).
 *
 * Two fresh databases on the PostgreSQL at BENCH_POSTGRES_URL (default the local one; it
 * must run on this machine, since the backend's CPU is read from /proc), each prefilled
 * with `--devices` devices through its own path, then analysed. Then, interleaved round by
 * round so a change of host speed hits both alike:
 *   - new devices: `--calls` calls per round of each batch size, every token new;
 *   - known devices: the same with prefilled tokens (a read: nothing should be written).
 * Per device: the backend's CPU (user + system, /proc/<pid>/stat), WAL bytes written
 * (pg_current_wal_lsn), and the wall time of a call. Prints a table and writes
 * results/device-load-<date>.json and results/device-load-latest.json (`-quick` for --quick).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { DEVICE_LOAD_SQL } from '../../api/src/experiments/device-load-sql.js';
import { candidates } from '../../api/src/experiments/device-loader.js';
import { ExperimentStore, type StoredExperiment } from '../../api/src/experiments/experiment-store.js';
import { migratePostgres } from '../../lib/db/migrate.js';
import { PG_MIGRATIONS } from '../../lib/db/migrations/index.js';
import { createLogger } from '../../lib/log.js';
import { processCpuSeconds } from './cpu.js';
import { ROOT } from './proc.js';

interface Path {
  name: string;
  /** The schema it runs on: the migrations up to this version. */
  schemaVersion: number;
  sql: string;
}

const PATHS: Path[] = [
  { name: 'statement, no foreign keys (this release)', schemaVersion: Infinity, sql: DEVICE_LOAD_SQL },
  {
    name: 'PL/pgSQL function, foreign keys (previous release)',
    schemaVersion: 4,
    sql: `SELECT token, first_seen_us, experiment_id, option_position, registered
            FROM device_read_or_register($1::text[], $2::text[], $3::bigint[], $4::smallint[], $5::bigint[])`,
  },
];

interface Totals {
  cpuSeconds: number;
  wallMs: number;
  walBytes: number;
  calls: number;
  devices: number;
}

/** One path on its own database, with the one connection every call goes through. */
class Target {
  private constructor(
    readonly path: Path,
    private readonly client: pg.Client,
    private readonly pid: number,
    private readonly experiments: StoredExperiment[],
  ) {}

  static async open(server: string, path: Path, database: string): Promise<Target> {
    const admin = new pg.Client({ connectionString: `${server}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
    await admin.end();
    const pool = new pg.Pool({ connectionString: `${server}/${database}`, max: 1 });
    await migratePostgres(
      pool,
      PG_MIGRATIONS.filter((m) => m.version <= path.schemaVersion),
      createLogger({ level: 'warn', pretty: false, name: 'bench' }),
    );
    const experiments = await new ExperimentStore(pool).running();
    await pool.end();
    const client = new pg.Client({ connectionString: `${server}/${database}` });
    await client.connect();
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    if (!existsSync(`/proc/${pid}/stat`)) {
      throw new Error(`PostgreSQL backend ${pid} is not a process on this machine: its CPU cannot be read`);
    }
    return new Target(path, client, pid, experiments);
  }

  /** One call for `tokens`, as the API sends it (tokens sorted, candidates for each). */
  async call(tokens: string[]): Promise<void> {
    tokens.sort();
    const a = candidates(tokens, this.experiments);
    await this.client.query({
      name: 'load',
      text: this.path.sql,
      values: [tokens, a.token, a.experiment, a.position, a.createdUs],
    });
  }

  async prefill(count: number): Promise<string[]> {
    const all: string[] = [];
    for (let done = 0; done < count; done += 500) {
      const tokens = Array.from({ length: Math.min(500, count - done) }, () => `bench-${randomUUID()}`);
      await this.call(tokens);
      all.push(...tokens);
    }
    await this.client.query('VACUUM ANALYZE devices, assignments');
    await this.client.query('CHECKPOINT');
    return all;
  }

  async measure(calls: number, batch: () => string[], into: Totals): Promise<void> {
    const lsn = (await this.client.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
    const cpu = processCpuSeconds(this.pid)!;
    const started = performance.now();
    for (let i = 0; i < calls; i++) {
      const tokens = batch();
      await this.call(tokens);
      into.devices += tokens.length;
    }
    into.wallMs += performance.now() - started;
    into.cpuSeconds += processCpuSeconds(this.pid)! - cpu;
    into.calls += calls;
    into.walBytes += Number(
      (await this.client.query<{ d: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS d', [lsn]))
        .rows[0]!.d,
    );
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

interface Row {
  path: string;
  devices: 'new' | 'known';
  batch: number;
  cpuUsPerDevice: number;
  walBytesPerDevice: number;
  wallUsPerCall: number;
}

const zero = (): Totals => ({ cpuSeconds: 0, wallMs: 0, walBytes: 0, calls: 0, devices: 0 });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      devices: { type: 'string', default: '100000' },
      rounds: { type: 'string', default: '10' },
      calls: { type: 'string', default: '300' },
      batches: { type: 'string', default: '1,3,7,20' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const quick = values.quick;
  const devices = quick ? 2000 : Number(values.devices);
  const rounds = quick ? 2 : Number(values.rounds);
  const calls = quick ? 20 : Number(values.calls);
  const batches = values.batches.split(',').map(Number);
  const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const stamp = Date.now();
  const targets: Target[] = [];
  const rows: Row[] = [];
  try {
    const known: string[][] = [];
    for (const [i, path] of PATHS.entries()) {
      const t = await Target.open(server, path, `sa_bench_device_load_${i}_${stamp}`);
      targets.push(t);
      known.push(await t.prefill(devices));
      process.stderr.write(`${path.name}: prefilled ${devices.toLocaleString('en')} devices\n`);
    }
    for (const batch of batches) {
      for (const kind of ['new', 'known'] as const) {
        const totals = targets.map(zero);
        for (let r = 0; r < rounds; r++) {
          for (const [i, t] of targets.entries()) {
            const pool = known[i]!;
            const next =
              kind === 'new'
                ? () => Array.from({ length: batch }, () => `bench-${randomUUID()}`)
                : () => Array.from({ length: batch }, () => pool[Math.floor(Math.random() * pool.length)]!);
            await t.measure(calls, next, totals[i]!);
          }
        }
        for (const [i, t] of targets.entries()) {
          const x = totals[i]!;
          const row: Row = {
            path: t.path.name,
            devices: kind,
            batch,
            cpuUsPerDevice: Math.round((x.cpuSeconds * 1e6) / x.devices),
            walBytesPerDevice: Math.round(x.walBytes / x.devices),
            wallUsPerCall: Math.round((x.wallMs * 1000) / x.calls),
          };
          rows.push(row);
          process.stdout.write(
            `${kind} devices, batch ${batch}, ${t.path.name}: PostgreSQL CPU ${row.cpuUsPerDevice} µs/device, WAL ${row.walBytesPerDevice} B/device, ${row.wallUsPerCall} µs/call\n`,
          );
        }
      }
    }
  } finally {
    for (const t of targets) await t.close();
    const admin = new pg.Client({ connectionString: `${server}/postgres` });
    await admin.connect();
    for (const i of PATHS.keys()) {
      await admin.query(`DROP DATABASE IF EXISTS sa_bench_device_load_${i}_${stamp} WITH (FORCE)`);
    }
    await admin.end();
  }
  const results = {
    date: new Date().toISOString(),
    quick,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
    prefilled: devices,
    rounds,
    callsPerRound: calls,
    rows,
  };
  const dir = join(values.out ?? join(ROOT, 'stress-testing'), 'results');
  mkdirSync(dir, { recursive: true });
  const suffix = quick ? '-quick' : '';
  const json = `${JSON.stringify(results, null, 2)}\n`;
  writeFileSync(join(dir, `device-load-${results.date.slice(0, 10)}${suffix}.json`), json);
  writeFileSync(join(dir, `device-load-latest${suffix}.json`), json);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
