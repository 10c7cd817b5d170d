import { join } from 'node:path';
import pg from 'pg';
import { API_NODE_FLAGS } from '../../../lib/runtime/node-flags.js';
import { findFreePort } from '../../../lib/runtime/ports.js';
import { withDb } from '../api-bench-env.js';
import { baseEnv, logFile, viewerTokens, type BenchContext } from '../context.js';
import { runLoad, type LoadResult } from '../load.js';
import { runOpenLoop, type OpenLoopResult } from '../open-loop.js';
import { startTs, waitHttp } from '../proc.js';

const FILMS_PER_VIEWER = 10;
const viewerUuid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
const filmUuid = (i: number) => `11111111-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

export interface ReadLoad {
  /** Closed loop, 4 connections: the most reads/s one API process answers. */
  saturated: LoadResult;
  /** Open loop at half the saturated rate: the latency a read sees under load. */
  load: OpenLoopResult;
}

/** The resume lookup's figures at the top level, continue watching's under `list`. */
export interface ReadPathResult extends ReadLoad {
  tableRows: number;
  fillSeconds: number;
  list: ReadLoad;
}

/**
 * `rows` rows of the resume read model (architecture/adr/0011), made inside PostgreSQL in
 * key order: viewer v has films 0..9, positions spread over 0-100% so some are listed.
 */
async function fill(url: string, rows: number): Promise<number> {
  return withDb(url, async (db) => {
    const t0 = performance.now();
    await db.query(
      `INSERT INTO progress_resume
       SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(v), 12, '0'))::uuid,
              ('11111111-0000-4000-8000-' || lpad(to_hex(f), 12, '0'))::uuid,
              (v * 7 + f * 531) % 5400, 5400, now() - make_interval(secs => f * 600 + v % 600), now(),
              gen_random_uuid()
       FROM generate_series(0, $1::int - 1) v, generate_series(0, ${FILMS_PER_VIEWER - 1}) f`,
      [Math.ceil(rows / FILMS_PER_VIEWER)],
    );
    await db.query('VACUUM ANALYZE progress_resume');
    // Flushes the fill's dirty pages now, not in a checkpoint in the middle of a measurement.
    await db.query('CHECKPOINT');
    return Math.round((performance.now() - t0) / 100) / 10;
  });
}

type Req = () => { method: 'GET'; path: string; token: string };

async function measure(ctx: BenchContext, url: string, name: string, req: Req): Promise<ReadLoad> {
  const load = { url, connections: 4, request: req, eventsPerRequest: 1 };
  await runLoad({ ...load, durationSec: ctx.quick ? 1 : 3 });
  const saturated = await runLoad({ ...load, durationSec: ctx.quick ? 2 : 10 });
  const open = await runOpenLoop({
    url,
    rate: Math.max(1, Math.round(saturated.requestsPerSec / 2)),
    durationSec: ctx.quick ? 2 : 20,
    warmupSec: ctx.quick ? 0 : 2,
    maxConnections: 64,
    request: () => {
      const r = req();
      return { path: r.path, headers: { authorization: `Bearer ${r.token}` } };
    },
  });
  ctx.log(
    `  ${name}: saturated ${saturated.requestsPerSec} req/s (p99 ${saturated.p99Ms} ms); ${open.rate} req/s open loop: p50 ${open.p50Ms} ms p99 ${open.p99Ms} ms`,
  );
  const failed = saturated.non2xx + saturated.errors + open.non2xx + open.errors;
  if (failed > 0) throw new Error(`${name} answered ${failed} failed reads (rows missing?)`);
  return { saturated, load: open };
}

/**
 * 7: resume lookups and continue-watching lists through the API, against a read model of
 * 10M rows (1M viewers x 10 films). Closed loop at 4 connections finds the most reads/s;
 * latency is measured open loop at half that rate (after 2 s at that rate on the same
 * connections), where a closed loop's latency would be queueing made by the generator itself.
 */
export async function readPath(ctx: BenchContext): Promise<ReadPathResult> {
  const rows = ctx.quick ? 20_000 : 10_000_000;
  const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const database = `sa_bench_read_${Date.now()}`;
  const port = await findFreePort();
  // The projection stays off: the fill is the model's state, the topic holds other scenarios' events.
  const env = {
    PORT: String(port),
    POSTGRES_URL: `${server}/${database}`,
    RESUME_PROJECTION_ENABLED: 'false',
  };
  const api = startTs(
    'stress-testing/src/api-target.ts',
    baseEnv(ctx, { ...env, CLICKHOUSE_DATA_DIR: join(ctx.workDir, 'chdb-read') }),
    logFile(ctx, 'api-read'),
    API_NODE_FLAGS,
  );
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitHttp(`${url}/readyz`);
    ctx.log(`  filling ${rows} rows`);
    const fillSeconds = await fill(env.POSTGRES_URL, rows);
    ctx.log(`  filled and analysed in ${fillSeconds} s`);
    const viewerCount = Math.ceil(rows / FILMS_PER_VIEWER);
    const viewers = Array.from({ length: 1000 }, (_, i) => Math.floor((i * viewerCount) / 1000));
    const tokens = await viewerTokens(ctx, viewers.length, viewers.map(viewerUuid));
    let i = 0;
    const token = () => tokens[++i % tokens.length]!;
    const lookup = await measure(ctx, url, 'resume lookup', () => ({
      method: 'GET',
      path: `/api/v1/progress/films/${filmUuid(i % FILMS_PER_VIEWER)}`,
      token: token(),
    }));
    const list = await measure(ctx, url, 'continue watching', () => ({
      method: 'GET',
      path: '/api/v1/progress',
      token: token(),
    }));
    return { tableRows: rows, fillSeconds, ...lookup, list };
  } finally {
    await api.stop();
    await withDb(`${server}/postgres`, (db) =>
      db.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`),
    );
  }
}
