import type { ClickHouseClient } from '@clickhouse/client';
import { UnavailableError } from '../../../lib/errors.js';
import { inSpan } from '../../../lib/apm/tracing.js';
import { uuidLiteral } from './uuid-literal.js';

export interface LatestPosition {
  film_id: string;
  position_sec: number;
  duration_sec: number;
  occurred_at: string;
  event_id: string;
}

export interface ProgressReader {
  latest(viewerId: string, filmId: string): Promise<LatestPosition | null>;
}

interface Row {
  position_sec: number;
  duration_sec: number;
  occurred_ms: string | number;
  event_id: string;
}

/**
 * Resume lookup from progress_latest: primary-key point read; ORDER BY ... LIMIT 1 picks
 * the newest row even before ReplacingMergeTree merged duplicates, so no FINAL.
 * The ids are inlined as checked UUID literals, not bound: the embedded engine's binding
 * shares parameter state between connections, so bound queries run one at a time there,
 * inlined ones in parallel.
 */
export class ClickHouseProgressReader implements ProgressReader {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly timeoutMs: number,
  ) {}

  async latest(viewerId: string, filmId: string): Promise<LatestPosition | null> {
    let rows: Row[];
    try {
      const rs = await inSpan('ClickHouse SELECT progress_latest', 'db', 'clickhouse', 'query', () =>
        this.client.query({
          query: `SELECT position_sec, duration_sec,
                       toUnixTimestamp64Milli(occurred_at) AS occurred_ms,
                       toString(event_id) AS event_id
                FROM ${this.database}.progress_latest
                WHERE viewer_id = ${uuidLiteral(viewerId)} AND film_id = ${uuidLiteral(filmId)}
                ORDER BY occurred_at DESC, received_at DESC
                LIMIT 1`,
          format: 'JSONEachRow',
          abort_signal: AbortSignal.timeout(this.timeoutMs),
        }),
      );
      rows = await rs.json<Row>();
    } catch (err) {
      throw new UnavailableError('progress store unavailable, retry later', {
        code: 'clickhouse_unavailable',
        cause: err,
      });
    }
    const row = rows[0];
    if (row === undefined) return null;
    return {
      film_id: filmId,
      position_sec: Number(row.position_sec),
      duration_sec: Number(row.duration_sec),
      occurred_at: new Date(Number(row.occurred_ms)).toISOString(),
      event_id: row.event_id,
    };
  }
}
