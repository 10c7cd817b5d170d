import type { ClickHouseClient } from '@clickhouse/client';
import { UnavailableError } from '../../../lib/errors.js';
import { inSpan } from '../../../lib/apm/tracing.js';
import { readModelColumns, rowAsMessage, selectAsMessage } from '../../../lib/clickhouse/stream-table.js';
import { LatestPositionBody, progressStream, type LatestPosition } from '../../../lib/contracts/progress.js';
import { uuidLiteral } from './uuid-literal.js';

export type { LatestPosition };

const LATEST = progressStream.readModel!;
/** The answer's columns but the film, which the caller names. */
const COLUMNS = readModelColumns(progressStream).filter(
  (c) => c.name !== 'film_id' && c.name in LatestPositionBody.shape,
);
const SELECT = selectAsMessage(COLUMNS);

export interface ProgressReader {
  latest(viewerId: string, filmId: string): Promise<LatestPosition | null>;
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
    let rows: Record<string, unknown>[];
    try {
      const rs = await inSpan(`ClickHouse SELECT ${LATEST.name}`, 'db', 'clickhouse', 'query', () =>
        this.client.query({
          query: `SELECT ${SELECT}
                FROM ${this.database}.${LATEST.name}
                WHERE viewer_id = ${uuidLiteral(viewerId)} AND film_id = ${uuidLiteral(filmId)}
                ORDER BY occurred_at DESC, received_at DESC
                LIMIT 1`,
          format: 'JSONEachRow',
          abort_signal: AbortSignal.timeout(this.timeoutMs),
        }),
      );
      rows = await rs.json<Record<string, unknown>>();
    } catch (err) {
      throw new UnavailableError('progress store unavailable, retry later', {
        code: 'clickhouse_unavailable',
        cause: err,
      });
    }
    const row = rows[0];
    if (row === undefined) return null;
    return { film_id: filmId, ...rowAsMessage(COLUMNS, row) } as LatestPosition;
  }
}
