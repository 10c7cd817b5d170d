import type { PgMigration } from './migration.js';

/**
 * Experiments can target segments: a device enters only when its request carries a viewer
 * token and the viewer is active in one of `include_segments` (when any) and in none of
 * `exclude_segments`. Slugs, not ids: a segment deleted and created again under the same
 * slug is the same audience to the people who wrote the experiment.
 */
export const experimentTargetsMigration: PgMigration = {
  version: 3,
  name: 'experiment segment targeting',
  sql: `
    ALTER TABLE experiments
      ADD COLUMN include_segments text[] NOT NULL DEFAULT '{}',
      ADD COLUMN exclude_segments text[] NOT NULL DEFAULT '{}';
  `,
};
