import type { ClickHouseClient } from '@clickhouse/client';
import { progressStream } from '../../../lib/contracts/progress.js';
import { readModelColumns, rowAsMessage, selectAsMessage } from '../../../lib/clickhouse/stream-table.js';
import type { PositionEvent } from './resume-rules.js';

const MODEL = progressStream.readModel!;
const COLUMNS = readModelColumns(progressStream);

/** Rows per page read from ClickHouse and per upsert statement (the projection's statement size). */
export const BACKFILL_BATCH_ROWS = 5000;

export interface BackfillProgress {
  /** Positions read from progress_latest (one per viewer and film). */
  read: number;
  /** Rows of progress_resume inserted or moved forward; the others held a position as new or newer. */
  written: number;
  batches: number;
}

export interface BackfillDeps {
  clickhouse: ClickHouseClient;
  database: string;
  /** The projection's upsert (ResumeStore.apply): newer wins, so the copy is idempotent. */
  store: { apply(events: readonly PositionEvent[]): Promise<number> };
  batchRows?: number;
  /**
   * Positions last watched before this are not copied: the retention job would delete them
   * (RESUME_RETENTION_DAYS). Undefined: all.
   */
  watchedSince?: Date;
  /** After each batch, e.g. to print progress. */
  onBatch?(progress: BackfillProgress): void;
}

/**
 * The query of one page: the newest row per (viewer, film) in key order, after the last key
 * of the page before. The table is a ReplacingMergeTree ordered by that key: the engine reads
 * in key order from the cursor and stops after `limit` keys, so each page costs about the
 * same and nothing is held in memory but the page. Rows not merged yet are ordered by the
 * projection's order (occurred_at, received_at, event_id) and the newest is kept, so no
 * FINAL is needed. UUIDs are compared by the engine on both sides, so its order is the
 * cursor's, whatever it is.
 */
export function pageQuery(database: string, opts: { after: boolean; since: boolean }): string {
  // NOTE: columns qualified with `t.`: the SELECT's aliases (`toString(viewer_id) AS
  // viewer_id`) would otherwise stand for them, comparing and sorting text, not the key.
  const where = [
    ...(opts.after
      ? ['t.viewer_id >= {viewer:UUID} AND (t.viewer_id > {viewer:UUID} OR t.film_id > {film:UUID})']
      : []),
    ...(opts.since ? ['t.occurred_at >= fromUnixTimestamp64Milli({since_ms:Int64})'] : []),
  ];
  // event_id as text: the order PostgreSQL's uuid comparison (the upsert's) gives.
  return `SELECT ${selectAsMessage(COLUMNS)}
    FROM ${database}.${MODEL.name} AS t
    ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
    ORDER BY t.viewer_id, t.film_id, t.occurred_at DESC, t.received_at DESC, toString(t.event_id) DESC
    LIMIT 1 BY t.viewer_id, t.film_id
    LIMIT {limit:UInt32}`;
}

/**
 * Copies every position of ClickHouse's progress_latest (watched since `watchedSince`) into
 * progress_resume with the projection's upsert: a row is replaced only by a newer event, so
 * running it twice, or while the projection runs, never moves a position back. Page by page
 * (keyset on the table's key): memory stays one page whatever the table's size.
 */
export async function backfillResume(deps: BackfillDeps): Promise<BackfillProgress> {
  const limit = deps.batchRows ?? BACKFILL_BATCH_ROWS;
  const progress: BackfillProgress = { read: 0, written: 0, batches: 0 };
  let cursor: { viewer: string; film: string } | undefined;
  const since_ms = deps.watchedSince?.getTime();
  for (;;) {
    const rs = await deps.clickhouse.query({
      query: pageQuery(deps.database, { after: cursor !== undefined, since: since_ms !== undefined }),
      query_params: { limit, ...cursor, ...(since_ms === undefined ? {} : { since_ms }) },
      format: 'JSONEachRow',
    });
    const rows = await rs.json<Record<string, unknown>>();
    if (rows.length === 0) return progress;
    const events = rows.map((r) => rowAsMessage(COLUMNS, r) as unknown as PositionEvent);
    progress.written += await deps.store.apply(events);
    progress.read += events.length;
    progress.batches += 1;
    deps.onBatch?.({ ...progress });
    const last = events[events.length - 1]!;
    cursor = { viewer: last.viewer_id, film: last.film_id };
    if (rows.length < limit) return progress;
  }
}
