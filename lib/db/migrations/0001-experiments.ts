import type { PgMigration } from './migration.js';

/**
 * Experiments, their weighted options, devices (with the time first seen) and the
 * assignment of record per (device, experiment). Assignments are stored on first serve so
 * a value never changes, even if weights are edited later. The spec's two examples are
 * seeded here, so they exist out of the box.
 *
 * NOTE: clock_timestamp(), not now(): now() is the transaction start, and "first seen
 * after the experiment was created" compares times written by different transactions.
 */
export const experimentsMigration: PgMigration = {
  version: 1,
  name: 'experiments, options, devices, assignments',
  sql: `
    CREATE TABLE experiments (
      id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      key         text NOT NULL UNIQUE CHECK (key ~ '^[a-z][a-z0-9_]{0,63}$'),
      description text NOT NULL DEFAULT '',
      seed        text NOT NULL DEFAULT gen_random_uuid()::text,
      status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'stopped')),
      created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
      stopped_at  timestamptz
    );
    CREATE TABLE experiment_options (
      experiment_id bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
      position      smallint NOT NULL CHECK (position >= 0),
      value         jsonb NOT NULL,
      weight        double precision NOT NULL CHECK (weight > 0),
      PRIMARY KEY (experiment_id, position)
    );
    CREATE TABLE devices (
      token         text PRIMARY KEY,
      first_seen_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE TABLE assignments (
      device_token    text NOT NULL REFERENCES devices (token) ON DELETE CASCADE,
      experiment_id   bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
      option_position smallint NOT NULL,
      assigned_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
      PRIMARY KEY (device_token, experiment_id)
    );
    -- Stats count devices per option: an index-only scan.
    CREATE INDEX assignments_by_option ON assignments (experiment_id, option_position);

    WITH button AS (
      INSERT INTO experiments (key, description)
      VALUES ('button_color', 'Colour of the main call-to-action button (spec example)')
      RETURNING id
    )
    INSERT INTO experiment_options (experiment_id, position, value, weight)
    SELECT id, o.position, o.value, o.weight FROM button,
      (VALUES (0, '"#FF0000"'::jsonb, 1.0), (1, '"#00FF00"'::jsonb, 1.0), (2, '"#0000FF"'::jsonb, 1.0))
        AS o (position, value, weight);

    WITH price AS (
      INSERT INTO experiments (key, description)
      VALUES ('price', 'Subscription price (spec example)')
      RETURNING id
    )
    INSERT INTO experiment_options (experiment_id, position, value, weight)
    SELECT id, o.position, o.value, o.weight FROM price,
      (VALUES (0, '10'::jsonb, 75.0), (1, '20'::jsonb, 10.0), (2, '50'::jsonb, 5.0), (3, '5'::jsonb, 10.0))
        AS o (position, value, weight);
  `,
};
