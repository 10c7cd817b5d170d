import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Readable } from 'node:stream';
import type { PostgresOptions } from '../../../lib/db/postgres.js';
import { db } from '../../../lib/db/errors.js';
import { UnavailableError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';

export interface HistoryExportOptions {
  postgres: PostgresOptions;
  statementTimeoutMs: number;
  maxConcurrent: number;
}

/** First instant of a `YYYY-MM` month and of the next one, in UTC, as ISO strings. */
export function periodBounds(period: string): { from: string; to: string } {
  const [year, month] = period.split('-').map(Number) as [number, number];
  return {
    from: new Date(Date.UTC(year, month - 1, 1)).toISOString(),
    to: new Date(Date.UTC(year, month, 1)).toISOString(),
  };
}

/**
 * The segment history of one month as CSV (`user;segment;operation;timestamp`), streamed
 * straight from PostgreSQL: `COPY (SELECT …) TO STDOUT` formats the rows in the server and
 * the copy stream reads the socket only as fast as the HTTP client takes the bytes, so a
 * report of millions of rows holds a few socket buffers in memory, never the report. One
 * statement: one consistent snapshot.
 *
 * Rows dated in the future (an expiry written in advance) are left out: the report shows
 * what has happened, up to the moment it is read.
 *
 * Each download uses its own connection, outside the request pool: it may stream for
 * minutes (REPORT_STATEMENT_TIMEOUT_MS) and must not hold a pool slot, nor inherit the
 * pool's short client-side query timeout. Downloads at once are capped.
 */
export class SegmentHistoryExport {
  private running = 0;

  constructor(
    private readonly opts: HistoryExportOptions,
    private readonly log: Logger,
  ) {}

  async open(period: string): Promise<Readable> {
    if (this.running >= this.opts.maxConcurrent) {
      throw new UnavailableError(
        `${this.opts.maxConcurrent} reports are already streaming: try again shortly`,
        {
          code: 'busy',
          retryAfterSec: 5,
        },
      );
    }
    this.running += 1;
    const client = new pg.Client({
      connectionString: this.opts.postgres.url,
      password: this.opts.postgres.password,
      connectionTimeoutMillis: this.opts.postgres.connectTimeoutMs,
      statement_timeout: this.opts.statementTimeoutMs,
      application_name: 'segment-history-export',
    });
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.running -= 1;
      // With a COPY still running, end() drops the socket; the server then stops it.
      void client.end().catch(() => undefined);
    };
    client.on('error', () => release());
    try {
      await db(() => client.connect());
    } catch (err) {
      release();
      throw err;
    }
    const { from, to } = periodBounds(period);
    const stream = client.query(
      copyTo(`COPY (
        SELECT user_id AS "user", segment, operation,
               to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "timestamp"
          FROM segment_history
         WHERE at >= ${pg.escapeLiteral(from)}::timestamptz
           AND at < least(${pg.escapeLiteral(to)}::timestamptz, statement_timestamp())
         ORDER BY at, id
      ) TO STDOUT WITH (FORMAT csv, DELIMITER ';', HEADER true)`),
    );
    const started = Date.now();
    stream.on('error', (err) => {
      this.log.warn({ err, period }, 'segment_history_export_failed');
      release();
    });
    stream.on('end', () => {
      this.log.info({ period, duration_ms: Date.now() - started }, 'segment_history_exported');
    });
    // 'close' follows 'end', an error, or the HTTP client going away mid-download.
    stream.on('close', release);
    return stream;
  }
}
