import { progressStream } from '../../contracts/progress.js';
import { createReadModel, createStreamTable } from '../stream-table.js';
import type { Migration } from './migration.js';

/**
 * progress_events and its resume read model progress_latest, as lib/contracts/progress.ts
 * declares them. The read model is a ReplacingMergeTree keyed (viewer_id, film_id);
 * reads take `ORDER BY occurred_at DESC LIMIT 1`, so they are correct before merges
 * happen and never need FINAL.
 */
export const progressMigration: Migration = {
  version: 1,
  name: 'progress events and latest position',
  statements: (ctx) => [...createStreamTable(ctx, progressStream), ...createReadModel(ctx, progressStream)],
};
