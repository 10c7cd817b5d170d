import type { PgMigration } from './migration.js';

/**
 * User segments. `users` is the local replica of the users topic (version per user, so
 * replays and out-of-order events are harmless). `user_segments` holds memberships, active
 * while `expires_at` is null or in the future — checked at read time, so an assignment
 * stops being active at its expiry exactly, with no sweeper. Its removal is written to
 * the history when the membership is added (`expiry_history_id`), dated at the expiry, and
 * replaced if the membership ends otherwise first; history reads never show rows dated
 * in the future. `segment_optouts` keeps an explicit removal of a rollout segment, so the
 * rollout does not give it back. History keeps the slug as text: it outlives the segment.
 */
export const segmentsMigration: PgMigration = {
  version: 2,
  name: 'users replica, segments, memberships, history',
  sql: `
    CREATE TABLE users (
      id         uuid PRIMARY KEY,
      version    bigint NOT NULL,
      deleted    boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE TABLE segments (
      id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      slug       text NOT NULL UNIQUE CHECK (slug ~ '^[A-Z][A-Z0-9_]{1,63}$'),
      percent    numeric(5, 2) CHECK (percent >= 0 AND percent <= 100),
      seed       text NOT NULL DEFAULT gen_random_uuid()::text,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE TABLE segment_history (
      id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id   uuid NOT NULL,
      segment   text NOT NULL,
      operation text NOT NULL CHECK (operation IN ('add', 'remove')),
      reason    text NOT NULL CHECK (reason IN ('manual', 'expired', 'rollout', 'segment_deleted', 'user_deleted')),
      at        timestamptz NOT NULL
    );
    CREATE INDEX segment_history_by_time ON segment_history (at, id);
    CREATE TABLE user_segments (
      user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      segment_id        bigint NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
      source            text NOT NULL CHECK (source IN ('manual', 'rollout')),
      added_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
      expires_at        timestamptz,
      expiry_history_id bigint,
      PRIMARY KEY (user_id, segment_id)
    );
    CREATE INDEX user_segments_by_segment ON user_segments (segment_id);
    -- Rollout membership: a uniform number in [0, 1) per (segment seed, user), the first 52
    -- bits of an MD5; a user is in a p% segment when it is below p/100. Deterministic, so
    -- the same users are in across restarts, at creation and when they arrive later.
    CREATE FUNCTION segment_bucket(seed text, user_id uuid) RETURNS double precision
      LANGUAGE sql IMMUTABLE PARALLEL SAFE
      AS $fn$ SELECT ('x' || substr(md5(seed || ':' || user_id::text), 1, 13))::bit(52)::bigint::double precision / 4503599627370496 $fn$;
    CREATE TABLE segment_optouts (
      user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      segment_id bigint NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
      PRIMARY KEY (user_id, segment_id)
    );
  `,
};
