import type { Pool } from 'pg';
import { AppError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';

/** Reads the viewers with an erasure asked for (rows are never deleted). */
export interface ErasedViewersSource {
  /** Viewer ids whose erasure was asked for at or after `since` (all when undefined), with the latest time seen. */
  since(since: Date | undefined): Promise<{ viewers: string[]; latest: Date | undefined }>;
}

/** PostgreSQL's `erasures` table as that source. */
export function erasuresTable(pool: Pool): ErasedViewersSource {
  return {
    async since(since) {
      const { rows } = await pool.query<{ viewer_id: string; requested_at: Date }>(
        since === undefined
          ? 'SELECT viewer_id, requested_at FROM erasures'
          : 'SELECT viewer_id, requested_at FROM erasures WHERE requested_at >= $1',
        since === undefined ? [] : [since],
      );
      let latest: Date | undefined;
      for (const r of rows) if (latest === undefined || r.requested_at > latest) latest = r.requested_at;
      return { viewers: rows.map((r) => r.viewer_id), latest };
    },
  };
}

/**
 * A request a transaction had not committed when a read passed its time still lands in the
 * next read: each one goes back this far before the latest time it has seen.
 */
const OVERLAP_MS = 5 * 60_000;

/**
 * The viewers whose erasure was asked for, in every API process, so their new events are
 * refused (403 `viewer_erased`) instead of answered 202 and then dropped by the ETL, which
 * suppresses them for good. The process that takes an erasure request knows at once; the
 * others at their next read (build-api reads every ERASED_VIEWERS_POLL_MS). Until the first read succeeds (PostgreSQL down at start) none is
 * known and such events are accepted, then dropped: ingestion never waits on PostgreSQL.
 */
export class ErasedViewers {
  private readonly viewers = new Set<string>();
  private latest: Date | undefined;
  private loaded = false;

  constructor(
    private readonly source: ErasedViewersSource,
    private readonly log: Logger,
  ) {}

  async read(): Promise<void> {
    try {
      const since =
        this.loaded && this.latest !== undefined ? new Date(this.latest.getTime() - OVERLAP_MS) : undefined;
      const { viewers, latest } = await this.source.since(this.loaded ? (since ?? new Date(0)) : undefined);
      for (const v of viewers) this.viewers.add(v.toLowerCase());
      if (latest !== undefined && (this.latest === undefined || latest > this.latest)) this.latest = latest;
      this.loaded = true;
    } catch (err) {
      this.log.warn({ err }, 'erased_viewers_read_failed');
    }
  }

  /** An erasure this process just took: known here before the next read. */
  add(viewerId: string): void {
    this.viewers.add(viewerId.toLowerCase());
  }

  has(viewerId: string): boolean {
    return this.viewers.has(viewerId.toLowerCase());
  }

  /** Throws the 403 for an erased viewer's events. */
  refuse(viewerId: string): void {
    if (this.has(viewerId)) throw viewerErased();
  }
}

export function viewerErased(): AppError {
  return new AppError(
    403,
    'viewer_erased',
    'this viewer was erased: their events are not stored any more (an erasure suppresses them for good)',
    false,
  );
}
