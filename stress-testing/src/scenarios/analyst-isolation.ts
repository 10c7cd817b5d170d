import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createClickHouse } from '../../../lib/clickhouse/client.js';
import { migrate } from '../../../lib/clickhouse/migrate.js';
import { MIGRATIONS } from '../../../lib/clickhouse/migrations/index.js';
import { createLogger } from '../../../lib/log.js';
import { sleep } from '../../../lib/retry.js';
import { API_NODE_FLAGS } from '../../../lib/runtime/node-flags.js';
import { findFreePort } from '../../../lib/runtime/ports.js';
import { fillStatements } from '../analytics-fill.js';
import { baseEnv, logFile, percentile, pipelineEnv, viewerTokens, type BenchContext } from '../context.js';
import { singleEvents } from '../load.js';
import { runOpenLoop, type OpenLoopResult } from '../open-loop.js';
import { runTsJson, startTs, waitHttp } from '../proc.js';

const DATABASE = 'analytics';
/** An analyst's report over every progress event (how far viewers get, per film): its one chunk comes at the end. */
const ANALYST_GROUP_BY = `SELECT film_id, count() AS events, uniqExact(viewer_id) AS viewers,
  quantiles(0.5, 0.9)(position_sec / duration_sec) AS completion
FROM progress_events GROUP BY film_id ORDER BY events DESC LIMIT 10`;

export interface IsolationWindow {
  ingest: Pick<OpenLoopResult, 'rate' | 'achievedPerSec' | 'p50Ms' | 'p99Ms' | 'maxMs' | 'non2xx' | 'errors'>;
  freshness: { probes: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** GROUP BYs that ran to their end in the window, and their median duration. */
  analyst: { queries: number; medianSec: number | null };
}

export interface AnalystIsolationResult {
  rows: number;
  fillSeconds: number;
  durationSec: number;
  without: IsolationWindow;
  withAnalyst: IsolationWindow;
}

/**
 * 8: ingestion while an analyst runs a GROUP BY over every event. The standalone process as
 * `npm start` composes it (API, ETL, embedded engine, SQL endpoint with its default limits),
 * over `rows` progress events generated in the engine before it starts. Two windows at the
 * same fixed rate, without and then with one analyst running the GROUP BY back to back
 * through the SQL endpoint: ingest latency (open loop, from each request's due time) and
 * freshness (202 → the row visible through the SQL endpoint, what an analyst sees).
 */
export async function analystIsolation(ctx: BenchContext): Promise<AnalystIsolationResult> {
  const rows = ctx.quick ? 100_000 : 10_000_000;
  const dataDir = join(ctx.workDir, 'chdb-analyst');
  const fill = runTsJson<{ rows: number; seconds: number }>(
    'stress-testing/src/scenarios/analyst-isolation.ts',
    [dataDir, String(rows)],
  );
  ctx.log(`  ${fill.rows.toLocaleString('en')} events generated in the engine in ${fill.seconds} s`);
  const [port, sqlPort] = [await findFreePort(), await findFreePort()];
  const password = `bench-${randomUUID()}`;
  const env = {
    ...{ PORT: String(port), CLICKHOUSE_DATA_DIR: dataDir, CLICKHOUSE_DATABASE: DATABASE },
    ...{ SQL_HTTP_PORT: String(sqlPort), SQL_HTTP_PASSWORD: password },
    ...pipelineEnv(`bench-analyst-${randomUUID()}`),
  };
  const app = startTs('cli/standalone.ts', baseEnv(ctx, env), logFile(ctx, 'analyst'), API_NODE_FLAGS);
  try {
    const api = `http://127.0.0.1:${port}`;
    const sql = `http://127.0.0.1:${sqlPort}/?database=${DATABASE}`;
    const auth = { 'X-ClickHouse-User': 'analyst', 'X-ClickHouse-Key': password };
    await waitHttp(`${api}/readyz`);
    const tokens = await viewerTokens(ctx, 64);
    const durationSec = ctx.quick ? 4 : 20;
    const window = async (analyst: boolean): Promise<IsolationWindow> => {
      const stop = new AbortController();
      const queries = analyst ? analystLoop(sql, auth, stop.signal) : Promise.resolve([]);
      const events = singleEvents(tokens);
      const warmupSec = ctx.quick ? 1 : 5;
      const [ingest, fresh] = await Promise.all([
        runOpenLoop({
          ...{ url: api, rate: ctx.quick ? 100 : 1000, durationSec, warmupSec, maxConnections: 64 },
          request: () => {
            const { token, ...r } = events();
            return {
              ...r,
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            };
          },
        }),
        sleep(warmupSec * 1000).then(() => probeFreshness(api, sql, auth, tokens, durationSec - 1)),
      ]);
      stop.abort();
      const seconds = (await queries).sort((a, b) => a - b);
      const { rate, achievedPerSec, p50Ms, p99Ms, maxMs, non2xx, errors } = ingest;
      const result = {
        ingest: { rate, achievedPerSec, p50Ms, p99Ms, maxMs, non2xx, errors },
        freshness: fresh,
        analyst: { queries: seconds.length, medianSec: seconds.length > 0 ? percentile(seconds, 50) : null },
      };
      ctx.log(
        `  ${analyst ? 'with' : 'without'} the analyst: ingest p99 ${p99Ms} ms (${achievedPerSec}/s), ` +
          `freshness p99 ${fresh.p99Ms} ms (${fresh.probes} probes), ${seconds.length} GROUP BYs`,
      );
      return result;
    };
    const without = await window(false);
    const withAnalyst = await window(true);
    return { rows: fill.rows, fillSeconds: fill.seconds, durationSec, without, withAnalyst };
  } finally {
    await app.stop();
  }
}

/** The GROUP BY back to back until `signal` (the one cut mid-way is killed by the endpoint); seconds each. */
async function analystLoop(
  sql: string,
  auth: Record<string, string>,
  signal: AbortSignal,
): Promise<number[]> {
  const seconds: number[] = [];
  while (!signal.aborted) {
    const t0 = performance.now();
    try {
      const res = await fetch(sql, { method: 'POST', body: ANALYST_GROUP_BY, headers: auth, signal });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`the analyst's GROUP BY answered ${res.status}: ${text}`);
      seconds.push(Math.round(performance.now() - t0) / 1000);
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }
  return seconds;
}

/** Probe events one after another for `sec`: from each one's 202 until the SQL endpoint counts its row. */
async function probeFreshness(
  api: string,
  sql: string,
  auth: Record<string, string>,
  tokens: string[],
  sec: number,
): Promise<IsolationWindow['freshness']> {
  const latencies: number[] = [];
  const until = Date.now() + sec * 1000;
  for (let p = 0; Date.now() < until; p++) {
    const film = randomUUID();
    const event = randomUUID();
    const res = await fetch(`${api}/api/v1/progress/films/${film}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens[p % tokens.length]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ position_sec: 60, duration_sec: 5400, event_id: event }),
    });
    await res.arrayBuffer();
    if (res.status !== 202) continue;
    const accepted = performance.now();
    // film_id leads the sort key: one granule read per look.
    const look = `${sql}&param_f=${film}&param_e=${event}`;
    const query = 'SELECT count() FROM progress_events WHERE film_id = {f:UUID} AND event_id = {e:UUID}';
    while (
      (await (await fetch(look, { method: 'POST', body: query, headers: auth })).text()).trim() !== '1'
    ) {
      if (performance.now() - accepted > 30_000) throw new Error('a probe event never became visible');
      await sleep(10);
    }
    latencies.push(performance.now() - accepted);
    await sleep(50);
  }
  latencies.sort((a, b) => a - b);
  const ms = (p: number) => Math.round(percentile(latencies, p));
  return { probes: latencies.length, p50Ms: ms(50), p99Ms: ms(99), maxMs: ms(100) };
}

/**
 * As a script (a process of its own: the engine binds its data directory to one process):
 * the migrated tables at `dataDir` with `rows` progress events generated in the engine, then
 * merged, so no background merge of the fill lands in one window and not the other.
 */
async function generate(dataDir: string, rows: number): Promise<void> {
  const client = await createClickHouse({
    ...{ url: undefined, user: 'default', password: undefined, dataDir, requestTimeoutMs: 3_600_000 },
  });
  const ctx = { database: DATABASE, cluster: undefined, ttlDays: 0 };
  await migrate(client, ctx, MIGRATIONS, createLogger({ level: 'silent', pretty: false, name: 'bench' }));
  const t0 = performance.now();
  const volume = { progressEvents: rows, viewers: Math.max(100, rows / 100), films: 1_000, days: 30 };
  await client.command({ query: fillStatements(DATABASE, volume, Date.now())[0]! });
  const tables = await client.query({
    query: `SELECT name FROM system.tables WHERE database = '${DATABASE}' AND engine LIKE '%MergeTree'`,
    format: 'JSONEachRow',
  });
  for (const { name } of await tables.json<{ name: string }>())
    await client.command({ query: `OPTIMIZE TABLE ${DATABASE}.${name} FINAL` });
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  const count = await client.query({
    query: `SELECT count() FROM ${DATABASE}.progress_events`,
    format: 'TabSeparated',
  });
  const stored = Number((await count.text()).trim());
  await client.close();
  process.stdout.write(`${JSON.stringify({ rows: stored, seconds })}\n`);
}

if (import.meta.filename === process.argv[1]) await generate(process.argv[2]!, Number(process.argv[3]));
