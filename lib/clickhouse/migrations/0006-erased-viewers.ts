import { engine, onCluster } from '../ddl.js';
import { ERASED_VIEWERS_TABLE } from '../erased-viewers.js';
import type { Migration } from './migration.js';

/**
 * The suppression list of erased viewers (lib/clickhouse/erased-viewers.ts): on every node
 * whole (replicated, not sharded), like schema_migrations, so each ETL reads it anywhere.
 */
export const erasedViewersMigration: Migration = {
  version: 6,
  name: 'erased viewers',
  statements: (ctx) => [
    `CREATE TABLE IF NOT EXISTS ${ctx.database}.${ERASED_VIEWERS_TABLE}${onCluster(ctx)}
      (
        viewer_id  UUID,
        erasure_id UUID,
        erased_at  DateTime64(3, 'UTC') DEFAULT now64(3)
      )
      ENGINE = ${engine(ctx, ERASED_VIEWERS_TABLE, 'ReplacingMergeTree', '', false)}
      ORDER BY viewer_id`,
  ],
};
