import type { ClickHouseClient } from '@clickhouse/client';
import { inSpan } from '../../../lib/apm/tracing.js';
import { exposureStream } from '../../../lib/contracts/exposure.js';
import { progressStream } from '../../../lib/contracts/progress.js';

const EXPOSURES = exposureStream.table!.name;
const LATEST = progressStream.readModel!.name;

export interface CompletionRow {
  experiment: string;
  option_index: number;
  viewers: number;
  mean: number;
  variance: number;
}

export interface CompletionReader {
  /** Per (experiment, option): viewers with at least one film, their mean completion and its sample variance. */
  byOption(experiments: string[]): Promise<CompletionRow[]>;
}

/**
 * Watch completion of exposed viewers, in ClickHouse: each viewer belongs to the option of
 * their first exposure in the experiment (first-exposure attribution); their completion is
 * the mean over films they watched since then of last position ÷ duration (capped at 1),
 * taken from progress_latest. Viewers who watched nothing since are not counted.
 */
export class ClickHouseCompletionReader implements CompletionReader {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly timeoutMs: number,
  ) {}

  async byOption(experiments: string[]): Promise<CompletionRow[]> {
    if (experiments.length === 0) return [];
    const db = this.database;
    const rs = await inSpan('ClickHouse SELECT completion', 'db', 'clickhouse', 'query', () =>
      this.client.query({
        query: `
          WITH exposed AS (
            SELECT experiment, assumeNotNull(viewer_id) AS viewer,
                   argMin(option_index, received_at) AS option_index, min(received_at) AS first_exposed
              FROM ${db}.${EXPOSURES}
             WHERE viewer_id IS NOT NULL AND experiment IN {experiments:Array(String)}
             GROUP BY experiment, viewer
          ),
          watched AS (
            SELECT viewer_id AS viewer, film_id,
                   argMax(position_sec, occurred_at) AS position, argMax(duration_sec, occurred_at) AS duration,
                   max(occurred_at) AS last_at
              FROM ${db}.${LATEST}
             WHERE viewer_id IN (SELECT viewer FROM exposed)
             GROUP BY viewer, film_id
          )
          SELECT experiment, option_index, count() AS viewers, avg(c) AS mean, varSamp(c) AS variance
            FROM (
              SELECT e.experiment AS experiment, e.option_index AS option_index, e.viewer AS viewer,
                     avg(least(w.position / w.duration, 1)) AS c
                FROM exposed AS e INNER JOIN watched AS w ON w.viewer = e.viewer
               WHERE w.last_at >= e.first_exposed
               GROUP BY experiment, option_index, viewer
            )
           GROUP BY experiment, option_index`,
        query_params: { experiments },
        format: 'JSONEachRow',
        abort_signal: AbortSignal.timeout(this.timeoutMs),
      }),
    );
    const rows = await rs.json<Record<string, string | number | null>>();
    return rows.map((r) => ({
      experiment: String(r.experiment),
      option_index: Number(r.option_index),
      viewers: Number(r.viewers),
      mean: Number(r.mean),
      variance: r.variance === null ? Number.NaN : Number(r.variance),
    }));
  }
}
