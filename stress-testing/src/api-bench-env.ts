import { cpus } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { API_NODE_FLAGS, missingNodeFlags } from '../../lib/runtime/node-flags.js';
import { findFreePort } from '../../lib/runtime/ports.js';
import { baseEnv, benchArgs, logFile, startBenchRun, type BenchContext } from './context.js';
import { HARNESS_NODE_FLAGS, startTs, waitHttp, type Child } from './proc.js';
import type { Control } from './window.js';

/** Default of BENCH_PG_OPTIONS: docker-compose.yml's PostgreSQL flags (`''` for the server's own). */
export const BENCH_PG_OPTIONS = '-c wal_compression=lz4';

/** A read bench's command line (`--quick`, `--out DIR`) and its shared settings. */
export function readBenchArgs() {
  const { quick, outDir } = benchArgs();
  return {
    quick,
    outDir,
    target: { rps: 2000, p99Ms: 10 },
    ...{
      rate: quick ? 200 : 2000,
      durationSec: quick ? 2 : 10,
      repeats: quick ? 1 : 3,
      pauseMs: quick ? 200 : 3000,
    },
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadGeneratorOnSameCores: true },
  };
}

/** Runs `work` on one connection to `url`, closed after it. */
export async function withDb<T>(url: string, work: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return await work(db);
  } finally {
    await db.end();
  }
}

export interface ApiBenchEnv {
  ctx: BenchContext;
  url: string;
  /** The control server (control-target.ts) and its rate, loaded next to the API in measured windows. */
  control: Control;
  postgresUrl: string;
  api: Child;
  /** Stops the API and the broker, drops the database, removes the work directory. */
  stop: () => Promise<void>;
}

/**
 * The real API process for a PostgreSQL-backed benchmark: its own broker (exposures and the
 * users replica need one), its own fresh database on the server at BENCH_POSTGRES_URL, the
 * embedded ClickHouse engine; and the control server.
 */
export async function startApiBench(name: string, quick: boolean): Promise<ApiBenchEnv> {
  const run = await startBenchRun(name, quick);
  const { ctx } = run;
  const missing = missingNodeFlags(HARNESS_NODE_FLAGS, process.execArgv, process.env.NODE_OPTIONS);
  if (missing.length > 0)
    ctx.log(`running without ${missing.join(' ')} (HARNESS_NODE_FLAGS): its GC can land in a window`);
  const database = `sa_bench_${name}_${Date.now()}`;
  const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const postgresUrl = `${server}/${database}`;
  const port = await findFreePort();
  const api = startTs(
    'stress-testing/src/api-target.ts',
    baseEnv(ctx, {
      PORT: String(port),
      CLICKHOUSE_DATA_DIR: join(ctx.workDir, 'chdb'),
      POSTGRES_URL: postgresUrl,
      // docker-compose.yml's server settings, on the API's own sessions: this machine's server is not ours to configure.
      PGOPTIONS: process.env.BENCH_PG_OPTIONS ?? BENCH_PG_OPTIONS,
    }),
    logFile(ctx, `api-${name}`),
    API_NODE_FLAGS,
  );
  const url = `http://127.0.0.1:${port}`;
  const controlPort = await findFreePort();
  const control = startTs(
    'stress-testing/src/control-target.ts',
    { PORT: String(controlPort) },
    logFile(ctx, 'control'),
  );
  const stop = async () => {
    await control.stop();
    await api.stop();
    await withDb(`${server}/postgres`, (db) =>
      db.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`),
    );
    await run.stop();
  };
  try {
    await waitHttp(`${url}/readyz`);
    await waitHttp(`http://127.0.0.1:${controlPort}`);
  } catch (err) {
    await stop();
    throw err;
  }
  // A tenth of the read benches' rate: enough answers for a p99, little CPU.
  return { ctx, url, control: { url: `http://127.0.0.1:${controlPort}`, rate: 200 }, postgresUrl, api, stop };
}
