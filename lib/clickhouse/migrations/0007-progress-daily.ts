import { progressStream } from '../../contracts/progress.js';
import { createAggregate } from '../aggregate-table.js';
import type { Migration } from './migration.js';

/**
 * progress_daily, as lib/contracts/progress.ts declares it: the furthest position per film,
 * viewer and day, for the dashboards of docs/analytics.md. Backfills the events stored
 * before it; on a large table run `npm run migrate` with a CLICKHOUSE_REQUEST_TIMEOUT_MS
 * longer than the backfill (a run cut short is simply run again: the backfill is idempotent).
 */
export const progressDailyMigration: Migration = {
  version: 7,
  name: 'progress daily aggregate',
  statements: (ctx) => progressStream.aggregates!.flatMap((agg) => createAggregate(ctx, progressStream, agg)),
};
