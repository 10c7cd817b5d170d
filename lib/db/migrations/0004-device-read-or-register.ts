import type { PgMigration } from './migration.js';

/**
 * One round trip for a device the API does not hold: read it, and register it (with its
 * assignments) only when it is unknown. A new device cost two statements before (the lookup
 * that found nothing, then the registration), each a wake-up of a backend and of the API.
 *
 * - Known tokens: their first-seen time and stored options, `registered = false`. Nothing
 *   is written, so a batch of known devices commits without a WAL flush.
 * - Unknown tokens: registered exactly as the registration statement did before: the device
 *   row by `ON CONFLICT DO UPDATE` (a no-op that returns a row a concurrent first request
 *   inserted, so both agree on the first-seen time), then the assignments it is eligible for
 *   (created at or before that first-seen time) by `ON CONFLICT DO NOTHING`. One row per
 *   assignment this call inserted, or one row with no experiment; `registered = true`.
 *   Rows are written in token order, then experiment id (the order every writer uses), so two
 *   calls waiting on each other's uncommitted keys cannot deadlock.
 * - The candidate assignments (`a_*`) are given for every token; only unknown ones use them.
 */
export const deviceReadOrRegisterMigration: PgMigration = {
  version: 4,
  name: 'device read-or-register function',
  sql: `
    CREATE FUNCTION device_read_or_register(
      p_tokens text[], a_token text[], a_experiment bigint[], a_position smallint[], a_created_us bigint[]
    ) RETURNS TABLE (token text, first_seen_us bigint, experiment_id bigint, option_position smallint, registered boolean)
    LANGUAGE plpgsql AS $fn$
    #variable_conflict use_column
    DECLARE
      known text[];
      known_seen bigint[];
      unknown text[];
    BEGIN
      SELECT coalesce(array_agg(d.token), '{}'),
             coalesce(array_agg((extract(epoch FROM d.first_seen_at) * 1000000)::bigint), '{}')
        INTO known, known_seen
        FROM devices d WHERE d.token = ANY (p_tokens);
      IF cardinality(known) > 0 THEN
        RETURN QUERY
          SELECT k.t, k.s, a.experiment_id, a.option_position, false
            FROM unnest(known, known_seen) AS k (t, s)
            LEFT JOIN assignments a ON a.device_token = k.t;
      END IF;
      IF cardinality(known) = cardinality(p_tokens) THEN
        RETURN;
      END IF;
      SELECT array_agg(t ORDER BY t) INTO unknown FROM unnest(p_tokens) AS t WHERE t <> ALL (known);
      RETURN QUERY
        WITH d AS (
          INSERT INTO devices (token)
          SELECT t FROM unnest(unknown) WITH ORDINALITY AS i (t, n) ORDER BY n
          ON CONFLICT ON CONSTRAINT devices_pkey DO UPDATE SET token = EXCLUDED.token
          RETURNING devices.token, (extract(epoch FROM devices.first_seen_at) * 1000000)::bigint AS seen_us
        ), ins AS (
          INSERT INTO assignments (device_token, experiment_id, option_position)
          SELECT c.t, c.e, c.p
            FROM unnest(a_token, a_experiment, a_position, a_created_us) AS c (t, e, p, created_us)
            JOIN d ON d.token = c.t
           WHERE c.created_us <= d.seen_us
           ORDER BY c.t, c.e
          ON CONFLICT DO NOTHING
          RETURNING assignments.device_token, assignments.experiment_id, assignments.option_position
        )
        SELECT d.token, d.seen_us, ins.experiment_id, ins.option_position, true
          FROM d LEFT JOIN ins ON ins.device_token = d.token;
    END
    $fn$;
  `,
};
