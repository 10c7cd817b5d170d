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
 * user_events: every accepted user action, once. Ordered for the usual questions (one
 * event type over a time range, then per viewer). `properties` is the JSON text of the
 * client's properties (bounded at the API); analysts read it with JSONExtract*.
 */
export const userEventsMigration: Migration = {
  version: 2,
  name: 'user action events',
  statements(ctx: DdlContext) {
    return [
      `CREATE TABLE IF NOT EXISTS ${storageTable(ctx, 'user_events')}${onCluster(ctx)}
      (
        event_id        UUID,
        viewer_id       UUID,
        event_type      LowCardinality(String),
        occurred_at     DateTime64(3, 'UTC') COMMENT 'client clock',
        received_at     DateTime64(3, 'UTC') COMMENT 'API clock when accepted',
        properties      String COMMENT 'JSON object',
        schema_version  UInt8,
        kafka_partition UInt32,
        kafka_offset    UInt64,
        inserted_at     DateTime64(3, 'UTC') DEFAULT now64(3)
      )
      ENGINE = ${engine(ctx, 'user_events', 'MergeTree')}
      PARTITION BY toYYYYMM(received_at)
      ORDER BY (event_type, toDate(occurred_at), viewer_id, occurred_at)
      ${ttlClause(ctx, 'received_at')}
      SETTINGS ${dedupSetting(ctx)}`,
      ...distributed(ctx, 'user_events', 'cityHash64(viewer_id)'),
    ];
  },
};
