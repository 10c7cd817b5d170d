import type { Pool } from 'pg';
import { BatchLoader, type BatchLoaderOptions } from '../../../lib/db/batch-loader.js';
import { db } from '../../../lib/db/errors.js';
import { bucketOf, pickOption } from '../../../lib/experiments/bucketing.js';
import type { StoredExperiment } from './experiment-store.js';

/** A registered device: its first-seen time and the experiments this registration assigned. */
export interface Registration {
  firstSeenUs: number;
  /** experiment id → option position, for the rows this statement inserted. */
  inserted: Map<number, number>;
  /**
   * Whether this caller made those assignments. Concurrent callers for one device share a
   * statement and its answer; only the first is told it assigned (a first assignment is
   * counted once), the others hold the same values as already stored.
   */
  first: boolean;
}

type Shared = Omit<Registration, 'first'> & { claimed: boolean };

interface Row {
  token: string;
  first_seen_us: string;
  inserted: string[];
}

/** The option a device gets in an experiment: deterministic hash bucketing, seeded per experiment. */
export function pickFor(e: StoredExperiment, token: string): number {
  return pickOption(
    e.options.map((o) => o.weight),
    bucketOf(e.seed, token),
  );
}

/**
 * Registers new devices and stores their assignments; concurrent registrations share one
 * statement and one commit (BatchLoader, grouped by the experiments list, which is one
 * shared array while it is cached). A statement per device was the wall of the new-device
 * path: at 2,000 devices/s PostgreSQL spent ~360 µs of CPU per device, most of it per
 * statement (wake-up, parse, commit), not per row.
 *
 * - Eligibility is decided inside the statement, against the first-seen time it writes.
 * - ON CONFLICT DO UPDATE (a no-op), not DO NOTHING: it returns the row a concurrent first
 *   request inserted, so both agree on the first-seen time; the assignments of a device
 *   another statement registered first are theirs (DO NOTHING), and the caller re-reads them.
 * - Rows are written in token order (then experiment id), the order every writer of these
 *   tables uses, so two statements waiting on each other's uncommitted keys cannot deadlock.
 */
export class DeviceRegistrar {
  private readonly loader: BatchLoader<string, Shared, StoredExperiment[]>;

  constructor(
    private readonly pool: Pool,
    batching: BatchLoaderOptions = { maxBatch: 200 },
  ) {
    this.loader = new BatchLoader((tokens, experiments) => this.write(tokens, experiments ?? []), batching);
  }

  async register(token: string, experiments: StoredExperiment[]): Promise<Registration> {
    const out = await this.loader.load(token, experiments);
    // The statement returns every token it was given (inserted or conflicting).
    if (out === undefined) throw new Error(`device registration returned no row for a token`);
    const first = !out.claimed;
    out.claimed = true;
    return { firstSeenUs: out.firstSeenUs, inserted: out.inserted, first };
  }

  private async write(tokens: string[], experiments: StoredExperiment[]): Promise<Map<string, Shared>> {
    tokens.sort();
    const ordered = [...experiments].sort((x, y) => x.id - y.id);
    const a = {
      token: [] as string[],
      experiment: [] as number[],
      position: [] as number[],
      createdUs: [] as number[],
    };
    const picks = new Map<string, Map<number, number>>();
    for (const token of tokens) {
      const mine = new Map<number, number>();
      picks.set(token, mine);
      for (const e of ordered) {
        const position = pickFor(e, token);
        mine.set(e.id, position);
        a.token.push(token);
        a.experiment.push(e.id);
        a.position.push(position);
        a.createdUs.push(e.createdAtUs);
      }
    }
    const res = await db(() =>
      this.pool.query<Row>({
        name: 'devices-register',
        text: `WITH d AS (
                 INSERT INTO devices (token)
                 SELECT t FROM unnest($1::text[]) WITH ORDINALITY AS i (t, n) ORDER BY n
                 ON CONFLICT (token) DO UPDATE SET token = EXCLUDED.token
                 RETURNING token, (extract(epoch FROM first_seen_at) * 1000000)::bigint AS first_seen_us
               ), ins AS (
                 INSERT INTO assignments (device_token, experiment_id, option_position)
                 SELECT a.token, a.experiment_id, a.position
                   FROM unnest($2::text[], $3::bigint[], $4::smallint[], $5::bigint[]) WITH ORDINALITY
                        AS a (token, experiment_id, position, created_us, n)
                   JOIN d ON d.token = a.token
                  WHERE a.created_us <= d.first_seen_us
                  ORDER BY a.n
                 ON CONFLICT DO NOTHING
                 RETURNING device_token, experiment_id
               )
               SELECT d.token, d.first_seen_us,
                      coalesce(array_agg(ins.experiment_id) FILTER (WHERE ins.experiment_id IS NOT NULL), '{}') AS inserted
                 FROM d LEFT JOIN ins ON ins.device_token = d.token
                GROUP BY d.token, d.first_seen_us`,
        values: [tokens, a.token, a.experiment, a.position, a.createdUs],
      }),
    );
    const out = new Map<string, Shared>();
    for (const r of res.rows) {
      const mine = picks.get(r.token)!;
      const inserted = new Map<number, number>();
      for (const id of r.inserted) inserted.set(Number(id), mine.get(Number(id))!);
      out.set(r.token, { firstSeenUs: Number(r.first_seen_us), inserted, claimed: false });
    }
    return out;
  }
}
