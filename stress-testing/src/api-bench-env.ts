import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { LocalKafka } from '../../lib/runtime/local-kafka.js';
import { findFreePort, findFreePortBlock } from '../../lib/runtime/ports.js';
import { baseEnv, logFile, type BenchContext } from './context.js';
import { startTs, waitHttp, type Child } from './proc.js';

export interface ApiBenchEnv {
  ctx: BenchContext;
  url: string;
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
  const workDir = mkdtempSync(join(tmpdir(), `sa-bench-${name}-`));
  const started = Date.now();
  const log = (msg: string) =>
    process.stderr.write(`[bench:${name} +${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
  const kafka = new LocalKafka({
    dir: join(workDir, 'kafka'),
    nodes: 1,
    basePort: await findFreePortBlock(1),
    heap: '1g',
  });
  process.on('exit', () => kafka.killAllSync());
  await kafka.start();
  const ctx: BenchContext = {
    quick,
    workDir,
    brokers: kafka.brokers,
    secret: `bench-${Date.now()}-secret-0123456789abcdef`,
    log,
  };
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
    }),
    logFile(ctx, `api-${name}`),
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await api.stop();
    await kafka.stop();
    const admin = new pg.Client({ connectionString: `${server}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
    await admin.end();
    if (process.env.KEEP_BENCH_DATA === undefined) rmSync(workDir, { recursive: true, force: true });
  };
  try {
    await waitHttp(`${url}/readyz`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { ctx, url, postgresUrl, api, log, stop };
}
