import type { Pool } from 'pg';
import type { ExperimentStats, StatsReport } from '../../../lib/contracts/experiment.js';
import { db } from '../../../lib/db/errors.js';
import { sharesOf } from './bucketing.js';
import type { Logger } from '../../../lib/log.js';
import { chiSquareGoodnessOfFit } from './chi-square.js';
import { meanInterval } from './mean-interval.js';
import type { CompletionReader, CompletionRow } from './completion-reader.js';
import type { ExperimentStore } from './experiment-store.js';

/** GrowthBook and PostHog flag a sample ratio mismatch at p < 0.001. */
export const SRM_P_THRESHOLD = 0.001;

/**
 * Per experiment: devices per option (PostgreSQL, the assignments of record) against the
 * target weights with the SRM test, and watch completion per option (ClickHouse). When
 * ClickHouse cannot answer, counts are still served and completion is marked unavailable.
 */
export class StatsService {
  constructor(
    private readonly pool: Pool,
    private readonly store: Pick<ExperimentStore, 'list'>,
    private readonly completion: CompletionReader,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async report(): Promise<StatsReport> {
    const experiments = await this.store.list();
    const counts = await db(() =>
      this.pool.query<{ experiment_id: string; option_position: number; devices: string }>(
        `SELECT experiment_id, option_position, count(*) AS devices
           FROM assignments GROUP BY experiment_id, option_position`,
      ),
    );
    const devices = new Map<string, number>();
    for (const r of counts.rows) devices.set(`${r.experiment_id}:${r.option_position}`, Number(r.devices));

    let completion: CompletionRow[] | null;
    try {
      completion = await this.completion.byOption(experiments.map((e) => e.key));
    } catch (err) {
      this.log.warn({ err }, 'completion_unavailable');
      completion = null;
    }
    const byOption = new Map((completion ?? []).map((c) => [`${c.experiment}:${c.option_index}`, c]));

    const stats: ExperimentStats[] = experiments.map((e) => {
      const observed = e.options.map((_, i) => devices.get(`${e.id}:${i}`) ?? 0);
      const total = observed.reduce((a, b) => a + b, 0);
      const weights = e.options.map((o) => o.weight);
      const targets = sharesOf(weights);
      const srm = chiSquareGoodnessOfFit(observed, weights);
      return {
        key: e.key,
        status: e.status,
        created_at: new Date(e.createdAtUs / 1000).toISOString(),
        total_devices: total,
        srm: {
          chi_square: srm.chiSquare,
          p_value: srm.pValue,
          mismatch: total > 0 && srm.pValue < SRM_P_THRESHOLD,
        },
        options: e.options.map((o, i) => {
          const c = byOption.get(`${e.key}:${i}`);
          const interval = c === undefined ? null : meanInterval(c.viewers, c.mean, c.variance);
          return {
            index: i,
            value: o.value,
            devices: observed[i]!,
            share: total === 0 ? 0 : observed[i]! / total,
            target_share: targets[i]!,
            completion:
              completion === null
                ? null
                : {
                    viewers: interval?.n ?? 0,
                    mean: interval?.mean ?? null,
                    ci95_low: interval?.low ?? null,
                    ci95_high: interval?.high ?? null,
                  },
          };
        }),
      };
    });
    return {
      generated_at: new Date(this.now()).toISOString(),
      srm_threshold: SRM_P_THRESHOLD,
      completion_available: completion !== null,
      experiments: stats,
    };
  }
}
