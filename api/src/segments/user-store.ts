import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '../../../lib/db/transaction.js';

export interface UserEvent {
  user_id: string;
  /** Monotonic per user (the source's version or timestamp): older events are ignored. */
  version: number;
  op: 'created' | 'updated' | 'deleted';
}

export type ApplyResult = 'applied' | 'stale';

/**
 * The local users table, kept by applying user events in any order and any number of
 * times: an event whose version is not newer than the stored one changes nothing. A
 * delete leaves a tombstone (so a replayed older `created` cannot bring the user back),
 * removes the user's memberships and records each removal. A user that appears (or comes
 * back) gets the rollout segments its hash puts it in, unless it opted out.
 */
export class UserStore {
  constructor(private readonly pool: Pool) {}

  apply(event: UserEvent): Promise<ApplyResult> {
    return inTransaction(this.pool, async (client) => {
      if (event.op === 'deleted') return this.remove(client, event);
      const upserted = await client.query<{ was_live: boolean | null }>(
        `WITH prev AS (SELECT NOT deleted AS live FROM users WHERE id = $1 FOR UPDATE)
         INSERT INTO users AS u (id, version) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, deleted = false, updated_at = clock_timestamp()
           WHERE u.version < EXCLUDED.version
         RETURNING (SELECT live FROM prev) AS was_live`,
        [event.user_id, event.version],
      );
      if (upserted.rowCount === 0) return 'stale';
      if (upserted.rows[0]!.was_live !== true) await rollIn(client, event.user_id);
      return 'applied';
    });
  }

  private async remove(client: PoolClient, event: UserEvent): Promise<ApplyResult> {
    const updated = await client.query<{ was_live: boolean }>(
      `WITH prev AS (SELECT NOT deleted AS live FROM users WHERE id = $1 FOR UPDATE)
       INSERT INTO users AS u (id, version, deleted) VALUES ($1, $2, true)
       ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, deleted = true, updated_at = clock_timestamp()
         WHERE u.version < EXCLUDED.version
       RETURNING coalesce((SELECT live FROM prev), false) AS was_live`,
      [event.user_id, event.version],
    );
    if (updated.rowCount === 0) return 'stale';
    if (updated.rows[0]!.was_live) {
      await client.query(
        `DELETE FROM segment_history h USING user_segments us
          WHERE h.id = us.expiry_history_id AND h.at > clock_timestamp() AND us.user_id = $1`,
        [event.user_id],
      );
      await client.query(
        `WITH gone AS (
           DELETE FROM user_segments us WHERE us.user_id = $1
           RETURNING us.segment_id, (us.expires_at IS NULL OR us.expires_at > clock_timestamp()) AS active
         )
         INSERT INTO segment_history (user_id, segment, operation, reason, at)
         SELECT $1, s.slug, 'remove', 'user_deleted', clock_timestamp()
           FROM gone JOIN segments s ON s.id = gone.segment_id WHERE gone.active`,
        [event.user_id],
      );
    }
    return 'applied';
  }
}

/** Gives a (new or returning) user every rollout segment its hash puts it in. */
async function rollIn(client: PoolClient, userId: string): Promise<void> {
  await client.query(
    `WITH rolled AS (
       INSERT INTO user_segments (user_id, segment_id, source)
       SELECT $1, s.id, 'rollout' FROM segments s
        WHERE s.percent > 0 AND segment_bucket(s.seed, $1) < s.percent / 100
          AND NOT EXISTS (SELECT 1 FROM segment_optouts o WHERE o.user_id = $1 AND o.segment_id = s.id)
       ON CONFLICT DO NOTHING
       RETURNING segment_id, added_at
     )
     INSERT INTO segment_history (user_id, segment, operation, reason, at)
     SELECT $1, s.slug, 'add', 'rollout', rolled.added_at FROM rolled JOIN segments s ON s.id = rolled.segment_id`,
    [userId],
  );
}
