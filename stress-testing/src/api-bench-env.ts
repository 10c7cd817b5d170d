import { join } from 'node:path';
import pg from 'pg';
import { API_NODE_FLAGS, missingNodeFlags } from '../../lib/runtime/node-flags.js';
import { findFreePort } from '../../lib/runtime/ports.js';
import { baseEnv, logFile, startBenchRun, type BenchContext } from './context.js';
import { HARNESS_NODE_FLAGS, startTs, waitHttp, type Child } from './proc.js';
import type { Control } from './window.js';

/** Default of BENCH_PG_OPTIONS: docker-compose.yml's PostgreSQL flags (`''` for the server's own). */
export const BENCH_PG_OPTIONS = '-c wal_compression=lz4';

export interface ApiBenchEnv {
  ctx: BenchContext;
  url: string;
  /** The control server (control-target.ts) and its rate, loaded next to the API in measured windows. */
  control: Control;
  postgresUrl: string;
  api: Child;
  log: (msg: string) => void;
  /** Stops the API and the broker, drops the database, removes the work directory. */
  stop: () => Promise<void>;
}

/**
 * The real API process for a PostgreSQL-backed benchmark: its own broker (exposures and
 * the users replica need one), its own fresh database, the embedded ClickHouse engine.
 */
export async function startApiBench(name: string, quick: boolean): Promise<ApiBenchEnv> {
  const run = await startBenchRun(name, quick);
  const { ctx } = run;
  const log = (msg: string) => ctx.log(msg);
  const missing = missingNodeFlags(HARNESS_NODE_FLAGS, process.execArgv, process.env.NODE_OPTIONS);
  if (missing.length > 0) {
    log(
      `this process runs without ${missing.join(' ')} (see HARNESS_NODE_FLAGS): its GC can land in a window`,
    );
  }
  const { workDir } = ctx;
  const database = `sa_bench_${name}_${Date.now()}`;
  const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const postgresUrl = `${server}/${database}`;
  const port = await findFreePort();
  const api = startTs(
    'stress-testing/src/api-target.ts',
    baseEnv(ctx, {
      PORT: String(port),
      CLICKHOUSE_DATA_DIR: join(workDir, 'chdb'),
      POSTGRES_URL: postgresUrl,
      // The server settings docker-compose.yml gives PostgreSQL, on the API's own sessions:
      // this machine's server is not ours to configure (needs a superuser, as the local one is).
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
    logFile(ctx, `control-${name}`),
  );
  const controlUrl = `http://127.0.0.1:${controlPort}`;
  const stop = async () => {
    await control.stop();
    await api.stop();
    const admin = new pg.Client({ connectionString: `${server}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
    await admin.end();
    await run.stop();
  };
  try {
    await waitHttp(`${url}/readyz`);
    await waitHttp(controlUrl);
  } catch (err) {
    await stop();
    throw err;
  }
  // A tenth of the read benches' 2,000 req/s: enough answers for a p99, little CPU.
  return { ctx, url, control: { url: controlUrl, rate: 200 }, postgresUrl, api, log, stop };
}
