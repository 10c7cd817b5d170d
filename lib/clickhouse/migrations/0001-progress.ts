import {
  dedupSetting,
  distributed,
  engine,
  onCluster,
  storageTable,
  ttlClause,
  type DdlContext,
} from '../ddl.js';
import type { Migration } from './migration.js';

/**
 * progress_events: every accepted progress event, once. Ordered for analysts' usual
 * questions (per film, then viewer, then time); partitioned by month of arrival so late
 * offline events do not create old partitions and TTL drops whole parts.
 * Kafka coordinates are kept for lineage and for exactly-once bookkeeping.
 *
 * progress_latest: the resume lookup. A ReplacingMergeTree keyed (viewer_id, film_id),
 * fed by a materialized view; reads take `ORDER BY occurred_at DESC LIMIT 1`, so they are
 * correct before merges happen and never need FINAL.
 */
export const progressMigration: Migration = {
  version: 1,
  name: 'progress events and latest position',
  statements(ctx: DdlContext) {
    const events = storageTable(ctx, 'progress_events');
    const latest = storageTable(ctx, 'progress_latest');
    const ttl = ttlClause(ctx, 'received_at');
    return [
      `CREATE TABLE IF NOT EXISTS ${events}${onCluster(ctx)}
      (
        event_id        UUID,
        viewer_id       UUID,
        film_id         UUID,
        position_sec    UInt32,
        duration_sec    UInt32,
        occurred_at     DateTime64(3, 'UTC') COMMENT 'client clock',
        received_at     DateTime64(3, 'UTC') COMMENT 'API clock when accepted',
        schema_version  UInt8,
        kafka_partition UInt32,
        kafka_offset    UInt64,
        inserted_at     DateTime64(3, 'UTC') DEFAULT now64(3)
      )
      ENGINE = ${engine(ctx, 'progress_events', 'MergeTree')}
      PARTITION BY toYYYYMM(received_at)
      ORDER BY (film_id, viewer_id, occurred_at)
      ${ttl}
      SETTINGS ${dedupSetting(ctx)}`,
      ...distributed(ctx, 'progress_events', 'cityHash64(viewer_id)'),
      `CREATE TABLE IF NOT EXISTS ${latest}${onCluster(ctx)}
      (
        viewer_id    UUID,
        film_id      UUID,
        position_sec UInt32,
        duration_sec UInt32,
        occurred_at  DateTime64(3, 'UTC'),
        received_at  DateTime64(3, 'UTC'),
        event_id     UUID
      )
      ENGINE = ${engine(ctx, 'progress_latest', 'ReplacingMergeTree', 'occurred_at')}
      ORDER BY (viewer_id, film_id)
      ${ttl}`,
      ...distributed(ctx, 'progress_latest', 'cityHash64(viewer_id)'),
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${storageTable(ctx, 'progress_latest_mv')}${onCluster(ctx)}
      TO ${latest}
      AS SELECT viewer_id, film_id, position_sec, duration_sec, occurred_at, received_at, event_id
      FROM ${events}`,
    ];
  },
};
