import type { Pool } from 'pg';
import type { OptionValue } from '../../../lib/contracts/experiment.js';
import { db } from '../../../lib/db/errors.js';
import { bucketOf, pickOption } from '../../../lib/experiments/bucketing.js';
import type { StoredExperiment } from './experiment-store.js';
import type { RunningExperiments } from './running-experiments.js';

export interface Assignment {
  experiment: StoredExperiment;
  optionIndex: number;
  value: OptionValue;
  /** True when this request made the assignment (first serve). */
  isNew: boolean;
}

interface DeviceRow {
  first_seen_us: string;
  experiment_id: string | null;
  option_position: number | null;
}

/**
 * The device's value in every running experiment it is eligible for.
 *
 * - Eligible: the device was first seen at or after the experiment was created (times in
 *   microseconds, both from PostgreSQL's clock).
 * - Value: deterministic hash bucketing (seed per experiment), stored on first serve;
 *   afterwards the stored value wins, so it stays fixed even if weights change.
 * - Concurrent first requests: both compute, `ON CONFLICT DO NOTHING` keeps one row, and
 *   the loser re-reads it; no lock, and never two different values.
 *
 * A returning device costs one indexed query; a new one three.
 */
export class AssignmentService {
  constructor(
    private readonly pool: Pool,
    private readonly running: RunningExperiments,
  ) {}

  async assign(deviceToken: string): Promise<Assignment[]> {
    const experiments = await this.running.get();
    const { firstSeenUs, stored } = await this.device(deviceToken);
    const eligible = experiments.filter((e) => e.createdAtUs <= firstSeenUs);
    const missing = eligible.filter((e) => !stored.has(e.id));
    const created = new Set<number>();
    if (missing.length > 0) {
      const picks = missing.map((e) =>
        pickOption(
          e.options.map((o) => o.weight),
          bucketOf(e.seed, deviceToken),
        ),
      );
      const inserted = await db(() =>
        this.pool.query<{ experiment_id: string }>(
          `INSERT INTO assignments (device_token, experiment_id, option_position)
           SELECT $1, a.experiment_id, a.position FROM unnest($2::bigint[], $3::smallint[]) AS a (experiment_id, position)
           ON CONFLICT DO NOTHING
           RETURNING experiment_id`,
          [deviceToken, missing.map((e) => e.id), picks],
        ),
      );
      for (const r of inserted.rows) created.add(Number(r.experiment_id));
      missing.forEach((e, i) => {
        if (created.has(e.id)) stored.set(e.id, picks[i]!);
      });
      const lost = missing.filter((e) => !created.has(e.id));
      if (lost.length > 0) {
        // A concurrent request stored these first: theirs is the value of record.
        const rows = await db(() =>
          this.pool.query<{ experiment_id: string; option_position: number }>(
            `SELECT experiment_id, option_position FROM assignments
              WHERE device_token = $1 AND experiment_id = ANY($2::bigint[])`,
            [deviceToken, lost.map((e) => e.id)],
          ),
        );
        for (const r of rows.rows) stored.set(Number(r.experiment_id), r.option_position);
      }
    }
    const out: Assignment[] = [];
    for (const e of eligible) {
      const index = stored.get(e.id);
      const option = index === undefined ? undefined : e.options[index];
      if (index === undefined || option === undefined) continue;
      out.push({ experiment: e, optionIndex: index, value: option.value, isNew: created.has(e.id) });
    }
    return out;
  }

  /** First-seen time (registering the device on its first request) and stored assignments. */
  private async device(token: string): Promise<{ firstSeenUs: number; stored: Map<number, number> }> {
    const found = await db(() =>
      this.pool.query<DeviceRow>(
        `SELECT (extract(epoch FROM d.first_seen_at) * 1000000)::bigint AS first_seen_us,
                a.experiment_id, a.option_position
           FROM devices d LEFT JOIN assignments a ON a.device_token = d.token
          WHERE d.token = $1`,
        [token],
      ),
    );
    const stored = new Map<number, number>();
    if (found.rowCount !== 0) {
      for (const r of found.rows) {
        if (r.experiment_id !== null) stored.set(Number(r.experiment_id), r.option_position!);
      }
      return { firstSeenUs: Number(found.rows[0]!.first_seen_us), stored };
    }
    // NOTE: DO UPDATE (a no-op), not DO NOTHING: it returns the row a concurrent first
    // request inserted, so both agree on the first-seen time.
    const inserted = await db(() =>
      this.pool.query<{ first_seen_us: string }>(
        `INSERT INTO devices (token) VALUES ($1)
         ON CONFLICT (token) DO UPDATE SET token = EXCLUDED.token
         RETURNING (extract(epoch FROM first_seen_at) * 1000000)::bigint AS first_seen_us`,
        [token],
      ),
    );
    return { firstSeenUs: Number(inserted.rows[0]!.first_seen_us), stored };
  }
}
