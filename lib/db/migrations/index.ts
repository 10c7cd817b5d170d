import { experimentsMigration } from './0001-experiments.js';
import { segmentsMigration } from './0002-segments.js';
import { experimentTargetsMigration } from './0003-experiment-targets.js';
import { deviceReadOrRegisterMigration } from './0004-device-read-or-register.js';
import { assignmentsKeptByTheirWriterMigration } from './0005-assignments-kept-by-their-writer.js';
import { deviceLastSeenMigration } from './0006-device-last-seen.js';
import { progressResumeMigration } from './0007-progress-resume.js';
import { erasuresMigration } from './0008-erasures.js';
import type { PgMigration } from './migration.js';

/** Every PostgreSQL migration, in order. Append only; never edit one that has shipped. */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  experimentsMigration,
  segmentsMigration,
  experimentTargetsMigration,
  deviceReadOrRegisterMigration,
  assignmentsKeptByTheirWriterMigration,
  deviceLastSeenMigration,
  progressResumeMigration,
  erasuresMigration,
];
