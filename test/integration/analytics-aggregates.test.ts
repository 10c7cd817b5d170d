import type { ClickHouseClient } from '@clickhouse/client';
import { expect } from 'chai';
import { ClickHouseEraser } from '../../api/src/erasure/clickhouse-eraser.js';
import { ClickHouseSink } from '../../etl/src/clickhouse-sink.js';
import { streamDecoder } from '../../etl/src/stream-row.js';
import { backfillStatement } from '../../lib/clickhouse/aggregate-table.js';
import { migrate } from '../../lib/clickhouse/migrate.js';
import { MIGRATIONS } from '../../lib/clickhouse/migrations/index.js';
import { progressStream, type ProgressMessage } from '../../lib/contracts/progress.js';
import { viewerTables } from '../../lib/contracts/tables.js';
import { createLogger } from '../../lib/log.js';
import { AnalystEngine } from '../../lib/sql-http/engine.js';
import { analystAnswer, analyticsQueries } from '../../stress-testing/src/analytics-queries.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { quickRun } from '../helpers/bench-run.js';
import { progressMessage } from '../helpers/progress-messages.js';
import { testEnv } from '../helpers/test-env.js';

const decode = streamDecoder(progressStream);
const DAY_MS = 86_400_000;

/**
 * The ready queries of docs/analytics.md that read the progress_daily aggregate answer
 * exactly what their forms over the raw events answer: for rows stored before the aggregate
 * existed (the migration's backfill), rows inserted through the ETL's sink afterwards, a
 * block retried with its dedup token (dropped by progress_events, pushed to the view again),
 * the backfill run a second time, and a viewer erased.
 */
describe('analytics aggregates', function () {
  this.timeout(120_000);
  const database = uniqueName('agg');
  const ctx = { database, cluster: undefined, ttlDays: 0 };
  const silent = createLogger({ level: 'silent', pretty: false, name: 't' });
  let clickhouse: ClickHouseClient;
  let sink: ClickHouseSink;
  const viewers = Array.from({ length: 8 }, () => randomUUID());
  const films = Array.from({ length: 3 }, () => randomUUID());
  const start = Date.now() - 3 * DAY_MS;
  let offset = 0;
  let engine: AnalystEngine;

  /** A viewer watching a film on a day: a position every minute up to `stop`, with one rewind. */
  const session = (viewer: string, film: number, day: number, stop: number): ProgressMessage[] => {
    const positions = Array.from({ length: Math.ceil(stop / 60) + 1 }, (_, i) => Math.min(i * 60, stop));
    positions.splice(2, 0, 30); // a rewind: the furthest position is not the last one sent
    return positions.map((position_sec, i) => {
      const at = new Date(start + day * DAY_MS + i * 60_000).toISOString();
      const duration_sec = 1200 + film * 600;
      return progressMessage({
        viewer_id: viewer,
        film_id: films[film]!,
        position_sec,
        duration_sec,
        occurred_at: at,
        received_at: at,
      });
    });
  };
  /** The ETL's rows for messages: the same bytes and settings its sink sends. */
  const block = (messages: ProgressMessage[]) => {
    const first = offset;
    const rows = messages.map((m) => {
      const decoded = decode(Buffer.from(JSON.stringify(m)), 0, String(offset++));
      if (!decoded.ok) throw new Error(decoded.reason);
      return decoded.row;
    });
    return { rows, token: `progress:0:${first}-${offset - 1}` };
  };
  const scalar = async (sql: string) =>
    Number(
      (await (await clickhouse.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n,
    );

  const compareEveryAggregateQuery = async () => {
    const queries = analyticsQueries().filter((q) => q.raw !== undefined);
    expect(queries.map((q) => q.n)).to.deep.equal([1, 2, 3, 4, 5, 6, 8]);
    for (const q of queries) {
      const raw = await analystAnswer(engine, database, q.raw!, {});
      expect(raw, `query ${q.n} over the raw events`).not.to.equal('');
      expect(await analystAnswer(engine, database, q.sql, {}), `query ${q.n}: ${q.title}`).to.equal(raw);
    }
  };

  before(async () => {
    clickhouse = testEnv().clickhouse;
    sink = new ClickHouseSink(clickhouse, {
      table: `${database}.progress_events`,
      useDedupToken: true,
      distributedSync: false,
    });
    const servedAt = new Date(start).toISOString();
    await migrate(
      clickhouse,
      ctx,
      MIGRATIONS.filter((m) => m.version < 7),
      silent,
    );
    await clickhouse.insert({
      table: `${database}.experiment_exposures`,
      values: viewers.flatMap((viewer, i) => [
        {
          event_id: randomUUID(),
          device_id: `dev-${i}`,
          viewer_id: viewer,
          experiment: 'home.rows',
          option_index: i % 2,
          value: 'true',
          received_at: servedAt,
          schema_version: 1,
          kafka_partition: 0,
          kafka_offset: i,
        },
        {
          event_id: randomUUID(),
          device_id: `anon-${i}`,
          viewer_id: null,
          experiment: 'home.rows',
          option_index: 0,
          value: 'true',
          received_at: servedAt,
          schema_version: 1,
          kafka_partition: 0,
          kafka_offset: 100 + i,
        },
      ]),
      format: 'JSONEachRow',
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    });
    // Stored before the aggregate exists: only the migration's backfill can bring these in.
    const early = block(viewers.slice(0, 5).flatMap((v, i) => session(v, i % 3, 0, 300 + i * 250)));
    await sink.insert(early.rows, early.token);
    await migrate(clickhouse, ctx, MIGRATIONS, silent);
    engine = await AnalystEngine.open(testEnv().chdbDir, database, {
      maxExecutionTimeSec: 30,
      maxResultRows: 0,
      maxResultBytes: 0,
      maxMemoryBytes: 0,
      maxThreads: 1,
      maxConcurrentQueries: 1,
    });
  });
  after(() => engine.close());

  it('answer as the raw events do after the backfill, inserts, and a block retried with its dedup token', async () => {
    const later = block([
      ...viewers.flatMap((v, i) => session(v, (i + 1) % 3, 1, 200 + i * 300)),
      ...session(viewers[0]!, 0, 2, 1200), // finishes the film started on day 0
    ]);
    await sink.insert(later.rows, later.token);
    const stored = await scalar(`SELECT count() AS n FROM ${database}.progress_events`);
    const aggregated = await scalar(`SELECT count() AS n FROM ${database}.progress_daily`);
    await sink.insert(later.rows, later.token); // the ETL's retry after an ambiguous failure
    expect(await scalar(`SELECT count() AS n FROM ${database}.progress_events`)).to.equal(stored);
    expect(
      await scalar(`SELECT count() AS n FROM ${database}.progress_daily`),
      'ClickHouse pushes a block the source table dropped as a duplicate to its views again: why measures are max/min only',
    ).to.be.above(aggregated);
    const last = block(viewers.slice(3).flatMap((v) => session(v, 2, 2, 900)));
    await sink.insert(last.rows, last.token);
    await compareEveryAggregateQuery();
  });

  it('answer the same after the backfill runs again (a second process migrating)', async () => {
    await clickhouse.command({
      query: backfillStatement(ctx, progressStream, progressStream.aggregates![0]!),
    });
    await compareEveryAggregateQuery();
  });

  it('hold no rows of an erased viewer, and still answer as the raw events do', async () => {
    const tables = viewerTables();
    expect(tables.map((t) => t.table)).to.include('progress_daily');
    const eraser = new ClickHouseEraser(clickhouse, ctx, tables, 30_000);
    const erased = viewers[0]!;
    for (const t of tables) await eraser.delete(t, erased);
    expect(
      await eraser.count(
        tables.find((t) => t.table === 'progress_daily')!,
        erased,
      ),
    ).to.equal(0);
    await compareEveryAggregateQuery();
  });
});

/**
 * `npm run bench:analytics -- --quick` end to end: every ready query timed, and each one that
 * reads an aggregate answering as its raw form does on the generated data. Never how fast.
 */
describe('analytics benchmark (quick smoke run)', function () {
  this.timeout(300_000);

  it('times every ready query of the guide, the aggregate forms beside their raw forms, with the same answers', async () => {
    const r = await quickRun('bench:analytics');
    expect(r.volume.rows.progress_events).to.equal(200_000);
    expect(r.volume.rows.progress_daily).to.be.greaterThan(0);
    expect(r.queries.map((q: { n: number }) => q.n)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const q of r.queries) {
      expect(q.raw.medianMs, `query ${q.n}`).to.be.greaterThan(0);
      expect(q.raw.rows, `query ${q.n} answers something`).to.be.greaterThan(0);
      if (q.aggregate !== undefined) expect(q.sameResult, `query ${q.n}`).to.equal(true);
    }
  });
});
