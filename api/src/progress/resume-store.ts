import type { Pool } from 'pg';
import { inSpan } from '../../../lib/apm/tracing.js';
import { BatchLoader, IGNORE_BATCHES, observed, type BatchObserver } from '../db/batch-loader.js';
import { db } from '../../../lib/db/errors.js';
import type { ContinueWatchingEntry, ResumePosition } from '../../../lib/contracts/progress.js';
import {
  isWatched,
  newestPerFilm,
  percentPlayed,
  type PositionEvent,
  type ResumeBounds,
} from './resume-rules.js';

export interface ProgressReader {
  /** The newest position of one film, or null when the viewer never played it. */
  latest(viewerId: string, filmId: string): Promise<ResumePosition | null>;
  /** Films between the bounds, most recently watched first. */
  inProgress(viewerId: string, limit: number): Promise<ContinueWatchingEntry[]>;
}

// Named statements: each connection parses and plans them once. Both read many keys at once
// (BatchLoader): under load one statement answers the lookups that arrived while the last
// one ran, instead of a round trip and a statement each; `i` ties a row to its key.
const LATEST = {
  name: 'resume-latest-many',
  text: `SELECT k.i, r.position_sec, r.duration_sec, r.occurred_at, r.event_id
         FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS k(viewer_id, film_id, i)
         JOIN progress_resume r ON r.viewer_id = k.viewer_id AND r.film_id = k.film_id`,
};
// The bounds as integer products, like resume-rules.ts: the same films on both sides of 5% and 90%.
const IN_PROGRESS = {
  name: 'resume-in-progress-many',
  text: `SELECT k.i, x.film_id, x.position_sec, x.duration_sec, x.occurred_at
         FROM unnest($1::uuid[]) WITH ORDINALITY AS k(viewer_id, i),
         LATERAL (SELECT film_id, position_sec, duration_sec, occurred_at, received_at, event_id
                  FROM progress_resume r
                  WHERE r.viewer_id = k.viewer_id
                    AND position_sec * 100 >= $2 * duration_sec AND position_sec * 100 <= $3 * duration_sec
                  ORDER BY occurred_at DESC, received_at DESC, event_id DESC
                  LIMIT $4) x
         ORDER BY k.i, x.occurred_at DESC, x.received_at DESC, x.event_id DESC`,
};
// Replaces a row only with a newer event (resume-rules.ts isNewer): a redelivered copy is
// equal, an older one is smaller, and neither changes anything.
const UPSERT = `
  INSERT INTO progress_resume AS r (viewer_id, film_id, position_sec, duration_sec, occurred_at, received_at, event_id)
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::int[], $5::timestamptz[], $6::timestamptz[], $7::uuid[])
    AS e(viewer_id, film_id, position_sec, duration_sec, occurred_at, received_at, event_id)
  -- An erased viewer's positions still in the topic are not brought back.
  WHERE NOT EXISTS (SELECT 1 FROM erasures x WHERE x.viewer_id = e.viewer_id)
  ON CONFLICT (viewer_id, film_id) DO UPDATE SET
    position_sec = excluded.position_sec, duration_sec = excluded.duration_sec,
    occurred_at = excluded.occurred_at, received_at = excluded.received_at, event_id = excluded.event_id
  WHERE (excluded.occurred_at, excluded.received_at, excluded.event_id) > (r.occurred_at, r.received_at, r.event_id)`;

interface LatestRow {
  i: string;
  position_sec: number;
  duration_sec: number;
  occurred_at: Date;
  event_id: string;
}
interface InProgressRow extends Omit<LatestRow, 'event_id'> {
  film_id: string;
}

/** A resume lookup's key: viewer and film. */
type FilmKey = `${string} ${string}`;

/**
 * The resume read model in PostgreSQL (architecture/adr/0011): point reads by primary key
 * for the API, idempotent batched upserts for the projection.
 */
export class ResumeStore implements ProgressReader {
  private readonly latestLoader: BatchLoader<FilmKey, LatestRow>;
  /** By viewer; the context is the list's limit, so only lists of one length share a statement. */
  private readonly listLoader: BatchLoader<string, InProgressRow[], number>;

  constructor(
    private readonly pool: Pool,
    private readonly bounds: ResumeBounds,
    observeBatch: BatchObserver = IGNORE_BATCHES,
  ) {
    this.latestLoader = new BatchLoader((keys) => this.latestMany(keys), observed(LATEST.name, observeBatch));
    this.listLoader = new BatchLoader(
      (viewers, limit) => this.inProgressMany(viewers, limit!),
      observed(IN_PROGRESS.name, observeBatch),
    );
  }

  async latest(viewerId: string, filmId: string): Promise<ResumePosition | null> {
    const row = await this.read('resume lookup', () => this.latestLoader.load(`${viewerId} ${filmId}`));
    if (row === undefined) return null;
    return {
      film_id: filmId,
      position_sec: row.position_sec,
      duration_sec: row.duration_sec,
      occurred_at: row.occurred_at.toISOString(),
      event_id: row.event_id,
      watched: isWatched(this.bounds, row.position_sec, row.duration_sec),
    };
  }

  async inProgress(viewerId: string, limit: number): Promise<ContinueWatchingEntry[]> {
    const rows = (await this.read('continue watching', () => this.listLoader.load(viewerId, limit))) ?? [];
    return rows.map((r) => ({
      film_id: r.film_id,
      position_sec: r.position_sec,
      duration_sec: r.duration_sec,
      percent: percentPlayed(r.position_sec, r.duration_sec),
      last_watched_at: r.occurred_at.toISOString(),
    }));
  }

  private async latestMany(keys: FilmKey[]): Promise<Map<FilmKey, LatestRow>> {
    const split = keys.map((k) => k.split(' ') as [string, string]);
    const { rows } = await this.pool.query<LatestRow>({
      ...LATEST,
      values: [split.map(([viewer]) => viewer), split.map(([, film]) => film)],
    });
    return new Map(rows.map((r) => [keys[Number(r.i) - 1]!, r]));
  }

  private async inProgressMany(viewers: string[], limit: number): Promise<Map<string, InProgressRow[]>> {
    const { minPct, maxPct } = this.bounds;
    const { rows } = await this.pool.query<InProgressRow>({
      ...IN_PROGRESS,
      values: [viewers, minPct, maxPct, limit],
    });
    // Rows come grouped by key, in the list's order; a viewer with no film listed has none.
    const lists = new Map<string, InProgressRow[]>(viewers.map((v) => [v, []]));
    for (const r of rows) lists.get(viewers[Number(r.i) - 1]!)!.push(r);
    return lists;
  }

  /** A read: outages as 503, and an APM span of its own (the agent does not see pg under ESM). */
  private read<T>(what: string, run: () => Promise<T>): Promise<T> {
    return inSpan(`PostgreSQL SELECT progress_resume (${what})`, 'db', 'postgresql', 'query', () => db(run));
  }

  /**
   * Applies events in one statement; safe to repeat and in any order. Rows go in key order
   * so two statements touching the same rows (a partition moving mid-batch) lock them in
   * the same order. Returns how many rows changed.
   */
  async apply(events: readonly PositionEvent[]): Promise<number> {
    const rows = newestPerFilm(events).sort((a, b) =>
      a.viewer_id === b.viewer_id ? cmp(a.film_id, b.film_id) : cmp(a.viewer_id, b.viewer_id),
    );
    if (rows.length === 0) return 0;
    const col = <K extends keyof PositionEvent>(k: K) => rows.map((r) => r[k]);
    const res = await this.pool.query(UPSERT, [
      col('viewer_id'),
      col('film_id'),
      col('position_sec'),
      col('duration_sec'),
      col('occurred_at'),
      col('received_at'),
      col('event_id'),
    ]);
    return res.rowCount ?? 0;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
