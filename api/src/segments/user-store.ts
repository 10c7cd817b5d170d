import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '../db/transaction.js';

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
      // An erased user stays erased, whatever the users topic still holds or replays.
      const erased = await client.query('SELECT 1 FROM erasures WHERE viewer_id = $1', [event.user_id]);
      if (erased.rowCount !== 0) return 'stale';
      // NOTE: a placeholder row first, so the row lock below always has a row to take:
      // concurrent changes for one user (the consumer and the dev route, say) serialize on
      // it. (A `SELECT … FOR UPDATE` CTE inside the upsert does not work: it skips the row
      // its own statement updates, so a delete never saw the user as live.)
      await client.query(
        'INSERT INTO users (id, version, deleted) VALUES ($1, -1, true) ON CONFLICT DO NOTHING',
        [event.user_id],
      );
      const current = (
        await client.query<{ version: string; deleted: boolean }>(
          'SELECT version, deleted FROM users WHERE id = $1 FOR UPDATE',
          [event.user_id],
        )
      ).rows[0]!;
      if (Number(current.version) >= event.version) return 'stale';
      const deleting = event.op === 'deleted';
      await client.query(
        'UPDATE users SET version = $2, deleted = $3, updated_at = clock_timestamp() WHERE id = $1',
        [event.user_id, event.version, deleting],
      );
      const wasLive = !current.deleted;
      if (deleting && wasLive) await deprive(client, event.user_id);
      if (!deleting && !wasLive) await rollIn(client, event.user_id);
      return 'applied';
    });
  }
}

/** A deleted user loses every membership; each active one is recorded as a removal. */
async function deprive(client: PoolClient, userId: string): Promise<void> {
  await client.query(
    `DELETE FROM segment_history h USING user_segments us
      WHERE h.id = us.expiry_history_id AND h.at > clock_timestamp() AND us.user_id = $1`,
    [userId],
  );
  await client.query(
    `WITH gone AS (
       DELETE FROM user_segments us WHERE us.user_id = $1
       RETURNING us.segment_id, (us.expires_at IS NULL OR us.expires_at > clock_timestamp()) AS active
     )
     INSERT INTO segment_history (user_id, segment, operation, reason, at)
     SELECT $1, s.slug, 'remove', 'user_deleted', clock_timestamp()
       FROM gone JOIN segments s ON s.id = gone.segment_id WHERE gone.active`,
    [userId],
  );
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
