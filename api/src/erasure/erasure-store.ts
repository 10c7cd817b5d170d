import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import { NIL_UUID } from '../../../lib/contracts/fast-checks.js';
import { db } from '../../../lib/db/errors.js';
import { inTransaction } from '../db/transaction.js';

/** What an erasure removed, per store and table (ClickHouse: both delete passes added up). */
export const ErasureRemoved = z.strictObject({
  clickhouse: z.record(z.string(), z.int()),
  postgres: z.record(z.string(), z.int()),
});
/** An erasure job as the admin API shows it (never the viewer id: the caller has it). */
export const ErasureJob = z.strictObject({
  id: z.uuid(),
  state: z.enum(['pending', 'running', 'done']),
  requested_at: z.iso.datetime(),
  finished_at: z.iso.datetime().nullable(),
  removed: ErasureRemoved,
});
export type ErasureJob = z.output<typeof ErasureJob>;
export type Store = keyof z.output<typeof ErasureRemoved>;

/** A job as the process running it holds it: `attempt` fences out a process whose lease ran out. */
export interface Claimed {
  id: string;
  viewerId: string;
  attempt: number;
  stepsDone: ReadonlySet<string>;
  suppressedAt: Date | null;
}

/** The job was taken over by another process (this one's lease ran out): stop working on it. */
export class LostLeaseError extends Error {
  constructor(id: string) {
    super(`erasure ${id} was taken over by another process`);
  }
}

interface JobRow {
  id: string;
  state: ErasureJob['state'];
  requested_at: Date;
  finished_at: Date | null;
  removed: ErasureJob['removed'];
}

const VIEW = 'id, state, requested_at, finished_at, removed';
/** Where erased viewers' rows go in the segment history: kept for counts, no longer anyone's. */
export const ANONYMOUS = NIL_UUID;

function view(r: JobRow): ErasureJob {
  return {
    id: r.id,
    state: r.state,
    requested_at: r.requested_at.toISOString(),
    finished_at: r.finished_at?.toISOString() ?? null,
    removed: r.removed,
  };
}

/**
 * Erasure jobs and their audit log in PostgreSQL (lib/db/migrations/0008-erasures.ts). Every
 * change a running job makes checks its attempt number, so a process that lost its lease
 * (paused, partitioned) cannot write over the one that took the job over.
 */
export class ErasureStore {
  constructor(
    private readonly pool: Pool,
    private readonly leaseMs: number,
  ) {}

  /** The viewer's job: created when there is none, run again when done; each request is audited. */
  request(viewerId: string, actor: string): Promise<{ job: ErasureJob; created: boolean }> {
    return inTransaction(this.pool, async (c) => {
      let row = (
        await c.query<JobRow>(
          `INSERT INTO erasures (viewer_id) VALUES ($1) ON CONFLICT (viewer_id) DO NOTHING RETURNING ${VIEW}`,
          [viewerId],
        )
      ).rows[0];
      const created = row !== undefined;
      // Asked again after it is done: it runs again (every step is safe to repeat), and
      // removes what came back since (a restored backup); the suppression keeps its date.
      // The run is requested now: its age (erasure_oldest_open_seconds) and its place in
      // the queue count from this request, not from the first.
      row ??= (
        await c.query<JobRow>(
          `UPDATE erasures SET state = CASE WHEN state = 'done' THEN 'pending' ELSE state END,
                  requested_at = CASE WHEN state = 'done' THEN clock_timestamp() ELSE requested_at END,
                  steps_done = CASE WHEN state = 'done' THEN '{}' ELSE steps_done END,
                  finished_at = CASE WHEN state = 'done' THEN NULL ELSE finished_at END
            WHERE viewer_id = $1 RETURNING ${VIEW}`,
          [viewerId],
        )
      ).rows[0]!;
      await audit(c, row.id, actor, created ? 'requested' : 'requested_again', {});
      return { job: view(row), created };
    });
  }

  async get(id: string): Promise<ErasureJob | undefined> {
    const { rows } = await db(() =>
      this.pool.query<JobRow>(`SELECT ${VIEW} FROM erasures WHERE id = $1`, [id]),
    );
    return rows[0] === undefined ? undefined : view(rows[0]);
  }

  /** How many jobs are not done, and when the oldest of them was requested. */
  async backlog(): Promise<{ open: number; oldestRequestedAt: Date | null }> {
    const { rows } = await db(() =>
      this.pool.query<{ open: number; oldest: Date | null }>(
        `SELECT count(*)::int AS open, min(requested_at) AS oldest FROM erasures WHERE state <> 'done'`,
      ),
    );
    return { open: rows[0]!.open, oldestRequestedAt: rows[0]!.oldest };
  }

  /** Takes the oldest job that is not done and not leased to a live process. */
  async claim(): Promise<Claimed | undefined> {
    const { rows } = await db(() =>
      this.pool.query<{
        id: string;
        viewer_id: string;
        attempts: number;
        steps_done: string[];
        suppressed_at: Date | null;
      }>(
        `UPDATE erasures SET state = 'running', attempts = attempts + 1,
                lease_until = clock_timestamp() + $1 * interval '1 millisecond'
          WHERE id = (SELECT id FROM erasures
                       WHERE state <> 'done' AND (lease_until IS NULL OR lease_until < clock_timestamp())
                       ORDER BY requested_at LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING id, viewer_id, attempts, steps_done, suppressed_at`,
        [this.leaseMs],
      ),
    );
    const r = rows[0];
    if (r === undefined) return undefined;
    return {
      id: r.id,
      viewerId: r.viewer_id,
      attempt: r.attempts,
      stepsDone: new Set(r.steps_done),
      suppressedAt: r.suppressed_at,
    };
  }

  /**
   * Records a step as done (adding `removed` rows to the table's count) and renews the
   * lease; the first 'suppress' step also dates the suppression. Returns the job as held now.
   */
  async step(
    job: Claimed,
    step: string,
    removed?: { store: Store; table: string; rows: number },
  ): Promise<Claimed> {
    const { rows } = await db(() =>
      this.pool.query<{ steps_done: string[]; suppressed_at: Date | null }>(
        `UPDATE erasures SET
            steps_done = array_append(steps_done, $3::text),
            removed = CASE WHEN $4::text IS NULL THEN removed ELSE jsonb_set(removed, ARRAY[$4::text, $5::text],
                        to_jsonb(COALESCE((removed #>> ARRAY[$4::text, $5::text])::bigint, 0) + $6::bigint)) END,
            suppressed_at = CASE WHEN $3::text = 'suppress' THEN COALESCE(suppressed_at, clock_timestamp()) ELSE suppressed_at END,
            lease_until = clock_timestamp() + $7 * interval '1 millisecond'
          WHERE id = $1 AND attempts = $2
          RETURNING steps_done, suppressed_at`,
        [
          job.id,
          job.attempt,
          step,
          removed?.store ?? null,
          removed?.table ?? null,
          removed?.rows ?? 0,
          this.leaseMs,
        ],
      ),
    );
    const r = rows[0];
    if (r === undefined) throw new LostLeaseError(job.id);
    return { ...job, stepsDone: new Set(r.steps_done), suppressedAt: r.suppressed_at };
  }

  /**
   * The PostgreSQL part, in one transaction with its step: the viewer's memberships,
   * opt-outs, resume positions and user row go; the segment history keeps its rows under
   * the anonymous id, so counts per segment over time stay right and name no one.
   */
  erasePostgres(job: Claimed): Promise<Claimed> {
    return inTransaction(this.pool, async (c) => {
      const count = async (sql: string) => (await c.query(sql, [job.viewerId])).rowCount ?? 0;
      const removed = {
        user_segments: await count('DELETE FROM user_segments WHERE user_id = $1'),
        segment_optouts: await count('DELETE FROM segment_optouts WHERE user_id = $1'),
        segment_history: await count(
          `UPDATE segment_history SET user_id = '${ANONYMOUS}' WHERE user_id = $1`,
        ),
        progress_resume: await count('DELETE FROM progress_resume WHERE viewer_id = $1'),
        users: await count('DELETE FROM users WHERE id = $1'),
      };
      const { rows } = await c.query<{ steps_done: string[] }>(
        `UPDATE erasures SET steps_done = array_append(steps_done, 'postgres'),
                removed = jsonb_set(removed, '{postgres}', (
                  SELECT jsonb_object_agg(k, COALESCE((removed #>> ARRAY['postgres', k])::bigint, 0) + v::bigint)
                    FROM jsonb_each_text($3::jsonb) AS n (k, v)))
          WHERE id = $1 AND attempts = $2 RETURNING steps_done`,
        [job.id, job.attempt, JSON.stringify(removed)],
      );
      if (rows[0] === undefined) throw new LostLeaseError(job.id);
      return { ...job, stepsDone: new Set(rows[0].steps_done) };
    });
  }

  /** Done: the lease released and the audit entry written, with the counts and no viewer id. */
  finish(job: Claimed): Promise<void> {
    return inTransaction(this.pool, async (c) => {
      const { rows } = await c.query<{ removed: ErasureJob['removed'] }>(
        `UPDATE erasures SET state = 'done', finished_at = clock_timestamp(), lease_until = NULL, last_error = NULL
          WHERE id = $1 AND attempts = $2 RETURNING removed`,
        [job.id, job.attempt],
      );
      if (rows[0] === undefined) throw new LostLeaseError(job.id);
      await audit(c, job.id, 'erasure-job', 'completed', rows[0].removed);
    });
  }

  /** A failed attempt: its error kept for operators, the job left to be retried after `retryMs`. */
  async failed(job: Claimed, error: string, retryMs: number): Promise<void> {
    await db(() =>
      this.pool.query(
        `UPDATE erasures SET last_error = $3, lease_until = clock_timestamp() + $4 * interval '1 millisecond'
          WHERE id = $1 AND attempts = $2`,
        [job.id, job.attempt, error.slice(0, 2000), retryMs],
      ),
    );
  }
}

async function audit(c: PoolClient, erasureId: string, actor: string, action: string, detail: object) {
  await c.query('INSERT INTO erasure_audit (erasure_id, actor, action, detail) VALUES ($1, $2, $3, $4)', [
    erasureId,
    actor,
    action,
    JSON.stringify(detail),
  ]);
}
