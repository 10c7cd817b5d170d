import type { ClientBase } from 'pg';
import type { Logger } from '../../../lib/log.js';
import { createPool, type PostgresOptions } from '../../../lib/db/postgres.js';
import { RetentionJob } from '../db/retention-job.js';

// NOTE: its own advisory lock key (migrations hold 7_411_309_001): one API replica scans at a time.
export const RESUME_RETENTION_LOCK_KEY = 7_411_309_011;

/** Heap pages per statement: 2 MiB of the table, a few thousand rows at most, a short transaction. */
export const PAGES_PER_STATEMENT = 256;

/**
 * Deletes the stale rows of one range of heap pages. A TID range scan reads exactly those
 * pages, so every statement costs the same however large the table is, and the run reads
 * the table once, sequentially. SKIP LOCKED leaves a row the projection is writing right
 * now (a viewer coming back: it is about to be fresh), so this never waits for an upsert
 * and the two can never deadlock; FOR UPDATE re-reads a row updated since the statement
 * began and drops it when it is no longer stale.
 */
const PURGE_PAGES = {
  name: 'resume-purge-pages',
  text: `DELETE FROM progress_resume WHERE ctid = ANY (ARRAY(
           SELECT ctid FROM progress_resume
            WHERE ctid >= $1::tid AND ctid < $2::tid AND occurred_at < $3::timestamptz
              FOR UPDATE SKIP LOCKED))`,
};

export interface ResumePurge {
  deleted: number;
  /** Heap pages the run went through (the table's size when it began). */
  pages: number;
  /** False when another process held the lock: it is running the purge. */
  ran: boolean;
  /** Whether the run stopped early (the process is shutting down). */
  stopped: boolean;
}

/**
 * Deletes the positions of progress_resume last watched (occurred_at, what continue watching
 * shows as last_watched_at) more than `days` days ago, in batches of heap pages, holding a
 * session advisory lock on `session` so concurrent API replicas do not read the table twice.
 *
 * NOTE: no index on occurred_at (ADR 0011): every position update changes it, so such an
 * index would turn the projection's HOT updates into index writes. A daily sequential pass
 * over the heap is the cheaper side of that trade. Rows are found by their place on disk,
 * not their key: a stale row is one nobody updates, so it does not move; a row that moves
 * (a non-HOT update) is fresh; rows added during the run are fresh.
 */
export async function purgeStaleResumePositions(
  session: ClientBase,
  days: number,
  opts: { pagesPerStatement?: number; stopping?: () => boolean } = {},
): Promise<ResumePurge> {
  const step = opts.pagesPerStatement ?? PAGES_PER_STATEMENT;
  const locked = await session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
    RESUME_RETENTION_LOCK_KEY,
  ]);
  if (locked.rows[0]?.ok !== true) return { deleted: 0, pages: 0, ran: false, stopped: false };
  try {
    // One cutoff for the whole run, from the database's clock like the rows' ages.
    const { rows } = await session.query<{ pages: string; cutoff: string }>(
      `SELECT pg_relation_size('progress_resume') / current_setting('block_size')::bigint AS pages,
              (clock_timestamp() - make_interval(days => $1))::text AS cutoff`,
      [days],
    );
    const pages = Number(rows[0]!.pages);
    const cutoff = rows[0]!.cutoff;
    let deleted = 0;
    for (let from = 0; from < pages; from += step) {
      if (opts.stopping?.() === true) return { deleted, pages, ran: true, stopped: true };
      const res = await session.query({
        ...PURGE_PAGES,
        values: [`(${from},0)`, `(${from + step},0)`, cutoff],
      });
      deleted += res.rowCount ?? 0;
    }
    return { deleted, pages, ran: true, stopped: false };
  } finally {
    await session.query('SELECT pg_advisory_unlock($1)', [RESUME_RETENTION_LOCK_KEY]);
  }
}

/**
 * Retention of the resume read model (RESUME_RETENTION_DAYS): a minute after start, then
 * daily, on a connection of its own (the API's pool stays whole for requests), by one API
 * replica at a time.
 */
export function resumeRetention(
  postgres: PostgresOptions,
  days: number,
  log: Logger,
  onDeleted: (rows: number) => void,
  schedule: { firstAfterMs?: number; everyMs?: number } = {},
): RetentionJob {
  return new RetentionJob({
    ...schedule,
    name: 'resume-retention',
    purge: async (stopping) => {
      const pool = createPool({ ...postgres, poolMax: 1, poolMin: 0 });
      try {
        const session = await pool.connect();
        try {
          return { ...(await purgeStaleResumePositions(session, days, { stopping })), retention_days: days };
        } finally {
          session.release();
        }
      } finally {
        await pool.end();
      }
    },
    log,
    events: { done: 'resume_positions_purged', failed: 'resume_positions_purge_failed' },
    onDeleted,
  });
}
