/**
 * npm run bench:analytics: the ready queries of docs/analytics.md as an analyst runs them on
 * the default install (the embedded engine behind the SQL endpoint's read-only connection and
 * default limits), over 10,000,000 progress events. The tables come from the real migrations;
 * the rows are generated in the engine. Migration 7 (the aggregates) runs on the filled tables,
 * as on an existing install, so its backfill is timed too. Each query that reads an aggregate
 * runs beside its form over the raw events, and both must answer the same.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickHouse } from '../../lib/clickhouse/client.js';
import { migrate } from '../../lib/clickhouse/migrate.js';
import { MIGRATIONS } from '../../lib/clickhouse/migrations/index.js';
import { OPTIONS } from '../../lib/config/config.js';
import { createLogger } from '../../lib/log.js';
import { AnalystEngine } from '../../lib/sql-http/engine.js';
import { analystAnswer, analyticsQueries } from './analytics-queries.js';
import { fillStatements, type Volume } from './analytics-fill.js';
import { benchArgs, machineInfo, percentile, round2 } from './context.js';
import { writeResults } from './results.js';

/**
 * A dashboard query slower than this (median, over the raw events, at full volume) is slow:
 * a dashboard of about eight panels through the endpoint's two query slots then takes over a
 * second to draw.
 */
const SLOW_MS = 200;
const AGGREGATES_SINCE = 7;

const { quick, outDir } = benchArgs();
const volume: Volume = quick
  ? { progressEvents: 200_000, viewers: 2_000, films: 100, days: 30 }
  : { progressEvents: 10_000_000, viewers: 20_000, films: 1_000, days: 30 };
const runs = quick ? 2 : 5;
const started = Date.now();
const log = (msg: string) =>
  process.stderr.write(`[bench:analytics +${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);

const dataDir = mkdtempSync(join(tmpdir(), 'sa-bench-analytics-'));
process.on('exit', () => {
  if (process.env.KEEP_BENCH_DATA === undefined) rmSync(dataDir, { recursive: true, force: true });
});
const ctx = { database: 'analytics', cluster: undefined, ttlDays: 0 };
const client = await createClickHouse({
  url: undefined,
  user: 'default',
  password: undefined,
  dataDir,
  requestTimeoutMs: 3_600_000,
});
const silent = createLogger({ level: 'silent', pretty: false, name: 'bench' });
const seconds = async (work: () => Promise<unknown>) => {
  const t = performance.now();
  await work();
  return round2((performance.now() - t) / 1000);
};
const count = async (table: string) => {
  const rs = await client.query({
    query: `SELECT count() AS n FROM ${ctx.database}.${table}`,
    format: 'JSONEachRow',
  });
  return Number((await rs.json<{ n: string }>())[0]!.n);
};

log(
  `tables up to migration ${AGGREGATES_SINCE - 1}, then ${volume.progressEvents.toLocaleString('en')} progress events`,
);
await migrate(
  client,
  ctx,
  MIGRATIONS.filter((m) => m.version < AGGREGATES_SINCE),
  silent,
);
const fillSeconds = await seconds(async () => {
  for (const query of fillStatements(ctx.database, volume, Date.now())) await client.command({ query });
});
log(`filled in ${fillSeconds} s; merging parts as the background merges would`);
for (const t of ['progress_events', 'progress_latest', 'user_events', 'experiment_exposures'])
  await client.command({ query: `OPTIMIZE TABLE ${ctx.database}.${t} FINAL` });
log(`migration ${AGGREGATES_SINCE}+ (aggregates and their backfill)`);
const migrationSeconds = await seconds(() => migrate(client, ctx, MIGRATIONS, silent));
const rows = {
  progress_events: await count('progress_events'),
  user_events: await count('user_events'),
  experiment_exposures: await count('experiment_exposures'),
  progress_daily: await count('progress_daily'),
};
log(`backfilled in ${migrationSeconds} s: ${JSON.stringify(rows)}`);

const limitKeys = [
  'maxExecutionTimeSec',
  'maxResultRows',
  'maxResultBytes',
  'maxMemoryBytes',
  'maxThreads',
] as const;
const limits = {
  ...Object.fromEntries(limitKeys.map((k) => [k, OPTIONS.sqlHttp[k].parse(undefined)])),
  maxConcurrentQueries: 1,
} as Parameters<typeof AnalystEngine.open>[2];
const engine = await AnalystEngine.open(dataDir, ctx.database, limits);
const anyViewer = await client.query({
  query: `SELECT toString(viewer_id) AS v FROM ${ctx.database}.progress_latest LIMIT 1`,
  format: 'JSONEachRow',
});
const params = { viewer: (await anyViewer.json<{ v: string }>())[0]!.v };

/** Runs a query `runs` times after one warm-up, as the SQL endpoint streams it; times in ms. */
async function timed(sql: string) {
  const times: number[] = [];
  let answer = '';
  for (let i = 0; i <= runs; i++) {
    const t = performance.now();
    answer = await analystAnswer(engine, ctx.database, sql, sql.includes('{viewer:') ? params : {});
    if (i > 0) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return {
    medianMs: round2(percentile(times, 50)),
    maxMs: round2(times.at(-1)!),
    rows: answer.split('\n').length - 1,
    digest: createHash('sha256').update(answer).digest('hex'),
  };
}

const queries = [];
for (const q of analyticsQueries()) {
  log(`query ${q.n}: ${q.title}`);
  const ready = await timed(q.sql);
  const raw = q.raw === undefined ? undefined : await timed(q.raw);
  const strip = ({ digest: _, ...t }: typeof ready) => t;
  queries.push({
    n: q.n,
    title: q.title,
    ...(raw === undefined ? { raw: strip(ready) } : { raw: strip(raw), aggregate: strip(ready) }),
    ...(raw === undefined ? {} : { sameResult: raw.digest === ready.digest }),
  });
  log(`  ${raw === undefined ? '' : `raw ${raw.medianMs} ms, aggregate `}${ready.medianMs} ms`);
}
engine.close();
await client.close();

const results = {
  date: new Date().toISOString(),
  quick,
  machine: machineInfo(),
  engine: engine.version,
  volume: { ...volume, rows },
  limits,
  slowMs: SLOW_MS,
  runs,
  fillSeconds,
  migrationSeconds,
  queries,
};
writeResults(outDir, 'analytics', results);
const wrong = queries.filter((q) => q.sameResult === false).map((q) => q.n);
if (wrong.length > 0) throw new Error(`aggregate and raw forms differ for queries ${wrong.join(', ')}`);
log('done');
