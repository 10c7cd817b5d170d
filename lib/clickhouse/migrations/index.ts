import { progressMigration } from './0001-progress.js';
import type { Migration } from './migration.js';
import { userEventsMigration } from './0002-user-events.js';
import { exposuresMigration } from './0003-experiment-exposures.js';
import { deadLettersMigration } from './0004-dead-letters.js';
import { eventIdIndexMigration } from './0005-event-id-index.js';
import { erasedViewersMigration } from './0006-erased-viewers.js';
import { progressDailyMigration } from './0007-progress-daily.js';

/** Every migration, in order. Append only; never edit one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [
  progressMigration,
  userEventsMigration,
  exposuresMigration,
  deadLettersMigration,
  eventIdIndexMigration,
  erasedViewersMigration,
  progressDailyMigration,
];
