/**
 * Devices by token, each with its stored assignments: one row per assignment, or one row with
 * none (`experiment_id` null); tokens not stored give no row. `last_seen_us` is null for a
 * device never recorded as seen after its first day (migration 6). The lookup (DeviceReader) and
 * the known part of the device-load statement below. $1: the tokens.
 */
export const DEVICE_READ_SQL = `
SELECT d.token, (extract(epoch FROM d.first_seen_at) * 1000000)::bigint AS first_seen_us,
       (extract(epoch FROM d.last_seen_at) * 1000000)::bigint AS last_seen_us,
       a.experiment_id, a.option_position
  FROM unnest($1::text[]) AS t,
       LATERAL (SELECT token, first_seen_at, last_seen_at FROM devices WHERE devices.token = t LIMIT 1) AS d
       LEFT JOIN LATERAL (
         SELECT experiment_id, option_position FROM assignments WHERE device_token = d.token OFFSET 0
       ) AS a ON true`;

/**
 * The device-load statement: one round trip for devices the API does not hold. It reads
 * them, and it registers the unknown ones with their assignments. It is the only writer of
 * `assignments`, which have no foreign keys (PostgreSQL migration 5 says why); the
 * statement keeps what those keys guaranteed.
 *
 * Parameters: $1 the tokens, sorted. $2-$5 the candidate assignment of every token, one
 * row per (token, running experiment) in token then experiment order: token, experiment
 * id, option position, experiment creation time (µs). Only unknown tokens use them.
 *
 * - `known`: tokens already stored, with their first-seen time and stored options,
 *   `registered = false`. Nothing is written for them, so a batch of known devices takes no
 *   transaction id and commits without a WAL flush.
 * - `registered`: the other tokens, inserted in token order. `ON CONFLICT DO UPDATE` is a
 *   no-op that returns (and locks) the row a concurrent first request inserted after this
 *   statement's snapshot, so both agree on the first-seen time.
 * - `assigned`: their assignments, for experiments created at or before that first-seen
 *   time (new devices only). Only for a device row this statement inserted or locked, and
 *   only for an experiment id that exists. `ON CONFLICT DO NOTHING`: a concurrent first
 *   request's assignment wins, and the caller re-reads it (AssignmentService).
 *   Rows go in token order, then experiment id (the order every writer uses), so two
 *   statements waiting on each other's uncommitted keys cannot deadlock.
 * - Answer: one row per stored or inserted assignment, or one row with no experiment for a
 *   device that has none.
 *
 * Devices and assignments are reached per token through their primary keys (`LATERAL`
 * subqueries in DEVICE_READ_SQL; `LIMIT 1` and `OFFSET 0` keep the planner from flattening
 * them into joins). The pool prepares both statements, and PostgreSQL may keep one generic
 * plan per connection until the tables are analysed again. Written as plain joins, the plan
 * made while the tables held a few hundred rows and had never been analysed read all of
 * `assignments` on every call, and a database started empty with autovacuum off saturated on
 * it. A per-token lookup that finds one
 * row is estimated cheaper than a scan at any table size, so this plan holds (tested for both
 * statements: the generic plan holds no sequential scan of either table).
 *
 * Why a statement and not the PL/pgSQL function of migration 4: the same work without the
 * function's per-statement executor start-ups, so less PostgreSQL CPU per new device
 * (architecture/adr/0006). A `LANGUAGE sql` function would be planned anew on every call
 * (PostgreSQL 15 does not cache its plans), slower than both.
 */
export const DEVICE_LOAD_SQL = `
WITH known AS (${DEVICE_READ_SQL}
), registered AS (
  INSERT INTO devices (token)
  SELECT t FROM unnest($1::text[]) AS t
   WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.token = t)
   ORDER BY t
  ON CONFLICT ON CONSTRAINT devices_pkey DO UPDATE SET token = EXCLUDED.token
  RETURNING devices.token, (extract(epoch FROM devices.first_seen_at) * 1000000)::bigint AS first_seen_us
), assigned AS (
  INSERT INTO assignments (device_token, experiment_id, option_position)
  SELECT c.t, c.e, c.p
    FROM unnest($2::text[], $3::bigint[], $4::smallint[], $5::bigint[]) AS c (t, e, p, created_us)
    JOIN registered r ON r.token = c.t
    JOIN experiments x ON x.id = c.e
   WHERE c.created_us <= r.first_seen_us
   ORDER BY c.t, c.e
  ON CONFLICT DO NOTHING
  RETURNING assignments.device_token, assignments.experiment_id, assignments.option_position
)
SELECT token, first_seen_us, last_seen_us, experiment_id, option_position, false AS registered
  FROM known
UNION ALL
SELECT r.token, r.first_seen_us, NULL::bigint, s.experiment_id, s.option_position, true
  FROM registered r
  LEFT JOIN assigned s ON s.device_token = r.token`;
