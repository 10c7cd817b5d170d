import type { PgMigration } from './migration.js';

/**
 * Erasure of a viewer (api/src/erasure/). `erasures` is the job and, for as long as it
 * exists, the PostgreSQL side of the suppression entry: the users replica and the resume
 * projection apply nothing for a viewer in it. One job per viewer (asking again answers the
 * same job). `steps_done` and `removed` let a job resumed by another process (after a crash,
 * when its lease ran out) skip what was done and keep the counts. `erasure_audit` records
 * who asked, when, and what was removed, never the viewer id.
 */
export const erasuresMigration: PgMigration = {
  version: 8,
  name: 'erasures and their audit log',
  sql: `
    CREATE TABLE erasures (
      id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      viewer_id     uuid NOT NULL UNIQUE,
      state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done')),
      requested_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
      suppressed_at timestamptz,
      finished_at   timestamptz,
      steps_done    text[] NOT NULL DEFAULT '{}',
      removed       jsonb NOT NULL DEFAULT '{"clickhouse": {}, "postgres": {}}',
      lease_until   timestamptz,
      attempts      integer NOT NULL DEFAULT 0,
      last_error    text
    );
    CREATE INDEX erasures_to_run ON erasures (requested_at) WHERE state <> 'done';
    CREATE TABLE erasure_audit (
      id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      erasure_id uuid NOT NULL REFERENCES erasures (id),
      at         timestamptz NOT NULL DEFAULT clock_timestamp(),
      actor      text NOT NULL,
      action     text NOT NULL CHECK (action IN ('requested', 'requested_again', 'completed')),
      detail     jsonb NOT NULL DEFAULT '{}'
    );
    CREATE INDEX erasure_audit_by_erasure ON erasure_audit (erasure_id, id);
  `,
};
