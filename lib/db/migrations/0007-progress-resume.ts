import type { PgMigration } from './migration.js';

/**
 * The resume read model (architecture/adr/0011): the newest position per viewer and film,
 * fed from the progress topic by the API's resume projection, read by the resume lookup and
 * continue watching. A point read by primary key; a viewer's list is the key's prefix.
 *
 * - Newest by (occurred_at, received_at, event_id), the order ClickHouse's resume read
 *   used: the projection's upsert only replaces an older row, so a redelivered or late
 *   event never moves a position back, whatever order copies arrive in.
 * - No other index: updates change no indexed column, so with the free space fillfactor
 *   leaves they are HOT (no index write), the common case of a player reporting every few
 *   seconds.
 */
export const progressResumeMigration: PgMigration = {
  version: 7,
  name: 'progress resume read model',
  sql: `
    CREATE TABLE progress_resume (
      viewer_id    uuid NOT NULL,
      film_id      uuid NOT NULL,
      position_sec integer NOT NULL,
      duration_sec integer NOT NULL CHECK (duration_sec > 0),
      occurred_at  timestamptz NOT NULL,
      received_at  timestamptz NOT NULL,
      event_id     uuid NOT NULL,
      PRIMARY KEY (viewer_id, film_id)
    ) WITH (fillfactor = 80);
  `,
};
