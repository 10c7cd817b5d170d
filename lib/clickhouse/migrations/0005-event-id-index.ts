import { deadLetterRows } from '../../contracts/dead-letter.js';
import { progressStream } from '../../contracts/progress.js';
import { userEventStream } from '../../contracts/user-event.js';
import { onCluster, storageTable } from '../ddl.js';
import type { Migration } from './migration.js';

/**
 * A bloom-filter skip index on event_id where GET /api/v1/events/{event_id}/status looks,
 * so a lookup reads the few granules that may hold the id, not the table. Parts written
 * before it have no index until merged (a lookup reads those whole).
 */
export const eventIdIndexMigration: Migration = {
  version: 5,
  name: 'event id skip index',
  statements: (ctx) =>
    [progressStream, userEventStream, deadLetterRows].map(
      (s) =>
        `ALTER TABLE ${storageTable(ctx, s.table!.name)}${onCluster(ctx)} ADD INDEX IF NOT EXISTS event_id_bloom event_id TYPE bloom_filter(0.001) GRANULARITY 1`,
    ),
};
