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
 * experiment_exposures: one row per experiment value served to a device (and the viewer,
 * when the request carried a viewer token). Ordered for per-experiment analysis; the
 * stats page joins exposed viewers with progress_latest for watch completion.
 */
export const exposuresMigration: Migration = {
  version: 3,
  name: 'experiment exposures',
  statements(ctx: DdlContext) {
    return [
      `CREATE TABLE IF NOT EXISTS ${storageTable(ctx, 'experiment_exposures')}${onCluster(ctx)}
      (
        event_id        UUID,
        device_id       String,
        viewer_id       Nullable(UUID),
        experiment      LowCardinality(String),
        option_index    UInt8,
        value           String COMMENT 'JSON of the value served',
        received_at     DateTime64(3, 'UTC') COMMENT 'API clock when served',
        schema_version  UInt8,
        kafka_partition UInt32,
        kafka_offset    UInt64,
        inserted_at     DateTime64(3, 'UTC') DEFAULT now64(3)
      )
      ENGINE = ${engine(ctx, 'experiment_exposures', 'MergeTree')}
      PARTITION BY toYYYYMM(received_at)
      ORDER BY (experiment, option_index, device_id, received_at)
      ${ttlClause(ctx, 'received_at')}
      SETTINGS ${dedupSetting(ctx)}`,
      ...distributed(ctx, 'experiment_exposures', 'cityHash64(device_id)'),
    ];
  },
};
