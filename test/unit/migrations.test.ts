import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { z } from 'zod';
import { MIGRATIONS } from '../../lib/clickhouse/migrations/index.js';
import { bootstrapStatements, pendingMigrations } from '../../lib/clickhouse/migrate.js';
import { backfillStatement, createAggregate } from '../../lib/clickhouse/aggregate-table.js';
import { addStreamColumns, createStreamTable, streamColumns } from '../../lib/clickhouse/stream-table.js';
import { progressStream } from '../../lib/contracts/progress.js';
import { defineStream, field, type AnyStream } from '../../lib/contracts/stream.js';
import type { DdlContext } from '../../lib/clickhouse/ddl.js';
import { eventIdField, receivedAtField } from '../../lib/contracts/stream-fields.js';

const single = { database: 'analytics', cluster: undefined, ttlDays: 30 };
const cluster = { database: 'analytics', cluster: 'events', ttlDays: 30 };

describe('ClickHouse migrations', () => {
  it('have unique, increasing versions', () => {
    const versions = MIGRATIONS.map((m) => m.version);
    expect(versions).to.deep.equal([...new Set(versions)].sort((a, b) => a - b));
  });

  it('run only what has not been applied, in order', () => {
    const fake = [3, 1, 2].map((version) => ({ version, name: `m${version}`, statements: () => [] }));
    expect(pendingMigrations(fake, new Set([1])).map((m) => m.version)).to.deep.equal([2, 3]);
  });

  it('target one node with plain MergeTree engines and block dedup enabled', () => {
    const sql = MIGRATIONS.flatMap((m) => m.statements(single)).join('\n');
    expect(sql).not.to.contain('ON CLUSTER');
    expect(sql).not.to.contain('Replicated');
    expect(sql).to.contain('non_replicated_deduplication_window');
    expect(sql).to.contain('TTL toDateTime(received_at) + INTERVAL 30 DAY');
  });

  it('target a cluster with ON CLUSTER, Replicated engines and Distributed tables', () => {
    const stmts = [...bootstrapStatements(cluster), ...MIGRATIONS.flatMap((m) => m.statements(cluster))];
    for (const s of stmts.filter((q) => /^(CREATE|ALTER) /.test(q)))
      expect(s).to.contain("ON CLUSTER 'events'");
    const sql = stmts.join('\n');
    expect(sql).to.contain('analytics.progress_events_local');
    expect(sql).to.match(
      /ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/analytics\/progress_events', '\{replica\}'\)/,
    );
    expect(sql).to.contain(
      "ENGINE = Distributed('events', 'analytics', 'progress_events_local', cityHash64(viewer_id))",
    );
    expect(sql).to.contain('ReplicatedReplacingMergeTree(');
  });

  it('make every statement idempotent', () => {
    for (const s of MIGRATIONS.flatMap((m) => m.statements(single))) {
      // A backfill adds rows to an aggregate of max/min measures only (AggregateSpec): harmless twice.
      expect(s).to.match(/IF NOT EXISTS|^INSERT INTO analytics\.progress_daily\n|^SELECT sleepEachRow\(3\)/);
    }
  });

  it('create an aggregate, then its view, then backfill what was stored before the view, through the Distributed tables in a cluster', () => {
    const steps = (ctx: DdlContext) =>
      createAggregate(ctx, progressStream, progressStream.aggregates![0]!).map((q) =>
        q.split('\n')[0]!.trim(),
      );
    expect(steps(single)).to.deep.equal([
      'CREATE TABLE IF NOT EXISTS analytics.progress_daily',
      'CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.progress_daily_mv',
      'SELECT sleepEachRow(3) FROM system.one WHERE (SELECT count() FROM analytics.progress_events) > 0',
      'INSERT INTO analytics.progress_daily',
    ]);
    expect(steps(cluster)).to.deep.equal([
      "CREATE TABLE IF NOT EXISTS analytics.progress_daily_local ON CLUSTER 'events'",
      "CREATE TABLE IF NOT EXISTS analytics.progress_daily ON CLUSTER 'events' AS analytics.progress_daily_local",
      "CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.progress_daily_mv_local ON CLUSTER 'events'",
      'SELECT sleepEachRow(3) FROM system.one WHERE (SELECT count() FROM analytics.progress_events) > 0',
      'INSERT INTO analytics.progress_daily',
    ]);
    const backfill = backfillStatement(cluster, progressStream, progressStream.aggregates![0]!);
    expect(backfill).to.contain('FROM analytics.progress_events AS progress_events');
    expect(backfill).to.contain('insert_distributed_sync = 1');
    expect(createAggregate(cluster, progressStream, progressStream.aggregates![0]!)[2]).to.contain(
      'FROM analytics.progress_events_local AS progress_events',
    );
  });

  it('never change once shipped: their statements are the text applied on existing installs', () => {
    // Built from the stream definitions: a field added to a definition must not reach an
    // applied migration (it takes `since` and a migration of its own).
    const digest = (ctx: DdlContext) =>
      MIGRATIONS.map((m) =>
        createHash('sha256').update(m.statements(ctx).join('\n;\n')).digest('hex').slice(0, 16),
      );
    expect(digest(single)).to.deep.equal([
      'aa08285b35ea9f75',
      '1e9f94d3375d60ca',
      '5eff5c4962db3ee5',
      '2c1e53355772c706',
      'e2c7f3c9da431371',
      'e0f1cc0d1f8d8ae0',
      '24ac7174865e3440',
    ]);
    expect(digest(cluster)).to.deep.equal([
      'fe0013eebdcd7f0d',
      '2c61824482797155',
      '7f75ec7d452e1ee3',
      '543338eca044c275',
      'f8d6fff47786ab86',
      'b11fa4abbe97d295',
      '848f7dc4e08c6ed3',
    ]);
  });

  it('add a field declared `since` a later migration after its neighbour, leaving the creating one as it was', () => {
    const stream = (withRating: boolean): AnyStream =>
      defineStream({
        name: 'demo',
        title: 'demo',
        version: 1,
        topicOption: 'KAFKA_TOPIC_DEMO',
        key: 'none',
        fields: {
          event_id: eventIdField,
          ...(withRating
            ? {
                rating: field({
                  schema: z.int().min(1).max(5),
                  source: 'producer',
                  column: { type: 'UInt8', comment: "viewer's stars", since: 9 },
                  docType: 'integer 1…5',
                  meaning: 'stars',
                }),
              }
            : {}),
          received_at: receivedAtField(),
        },
        table: {
          name: 'demo',
          createdBy: 4,
          orderBy: ['event_id'],
          monthOf: 'received_at',
          shardBy: 'rand()',
          doc: '',
        },
      }) as AnyStream;
    expect(createStreamTable(single, stream(true))).to.deep.equal(createStreamTable(single, stream(false)));
    expect(addStreamColumns(single, stream(true), 9)).to.deep.equal([
      "ALTER TABLE analytics.demo ADD COLUMN IF NOT EXISTS rating UInt8 COMMENT 'viewer\\'s stars' AFTER event_id",
    ]);
    expect(addStreamColumns(cluster, stream(true), 9)).to.have.length(2);
    expect(streamColumns(stream(true)).map((c) => c.name)).to.deep.equal([
      'event_id',
      'rating',
      'received_at',
      'schema_version',
      'kafka_partition',
      'kafka_offset',
      'inserted_at',
    ]);
  });
});
