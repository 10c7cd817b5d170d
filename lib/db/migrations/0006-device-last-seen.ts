import type { PgMigration } from './migration.js';

/**
 * When a device was last recorded as seen, for device retention
 * (EXPERIMENTS_DEVICE_RETENTION_DAYS): devices not seen for that long are deleted.
 *
 * - Null until the device is seen on a later day than its first: a registration writes
 *   nothing more than before, and a device that never came back is judged by first_seen_at.
 * - Coarse on purpose: the API records a device at most about once a day (when it serves a
 *   device it last knew as seen a day or more ago; the statement writes only if no other
 *   process did within the day), never per request. Retention counts in days, so a day's
 *   precision is enough (api/src/experiments/device-seen.ts).
 * - No index: an index on it would make each of those updates write the index too (no HOT
 *   update), and the retention job that needs it runs once a day over the whole table.
 * - Nullable without a default: adding it rewrites nothing (metadata only).
 */
export const deviceLastSeenMigration: PgMigration = {
  version: 6,
  name: 'devices last seen (retention)',
  sql: `
    ALTER TABLE devices ADD COLUMN last_seen_at timestamptz;
  `,
};
