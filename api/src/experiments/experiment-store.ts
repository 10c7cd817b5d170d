import type { Pool } from 'pg';
import type { CreateExperiment, OptionValue } from '../../../lib/contracts/experiment.js';
import { db, isUniqueViolation } from '../../../lib/db/errors.js';
import { inTransaction } from '../../../lib/db/transaction.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../lib/errors.js';

export interface StoredOption {
  value: OptionValue;
  weight: number;
}

export interface StoredExperiment {
  id: number;
  key: string;
  description: string;
  seed: string;
  status: 'running' | 'stopped';
  /** Microseconds since the epoch: compared with a device's first-seen time exactly. */
  createdAtUs: number;
  stoppedAtUs: number | null;
  options: StoredOption[];
}

// Times as epoch microseconds: a JS Date would round both sides to milliseconds, and a
// device first seen within the same millisecond before the experiment must not get it.
const SELECT = `
  SELECT e.id, e.key, e.description, e.seed, e.status,
         (extract(epoch FROM e.created_at) * 1000000)::bigint AS created_us,
         (extract(epoch FROM e.stopped_at) * 1000000)::bigint AS stopped_us,
         coalesce(
           (SELECT json_agg(json_build_object('value', o.value, 'weight', o.weight) ORDER BY o.position)
              FROM experiment_options o WHERE o.experiment_id = e.id), '[]') AS options
    FROM experiments e`;

interface Row {
  id: string;
  key: string;
  description: string;
  seed: string;
  status: 'running' | 'stopped';
  created_us: string;
  stopped_us: string | null;
  options: StoredOption[];
}

function fromRow(r: Row): StoredExperiment {
  return {
    id: Number(r.id),
    key: r.key,
    description: r.description,
    seed: r.seed,
    status: r.status,
    createdAtUs: Number(r.created_us),
    stoppedAtUs: r.stopped_us === null ? null : Number(r.stopped_us),
    options: r.options,
  };
}

/** Experiments and their options in PostgreSQL. */
export class ExperimentStore {
  constructor(private readonly pool: Pool) {}

  create(input: CreateExperiment): Promise<StoredExperiment> {
    return inTransaction(this.pool, async (client) => {
      let id: string;
      try {
        const inserted = await client.query<{ id: string }>(
          'INSERT INTO experiments (key, description) VALUES ($1, $2) RETURNING id',
          [input.key, input.description ?? ''],
        );
        id = inserted.rows[0]!.id;
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new ConflictError(`experiment ${input.key} already exists`);
        }
        throw err;
      }
      await client.query(
        `INSERT INTO experiment_options (experiment_id, position, value, weight)
         SELECT $1, o.ord - 1, o.value, o.weight
           FROM unnest($2::jsonb[], $3::float8[]) WITH ORDINALITY AS o (value, weight, ord)`,
        [id, input.options.map((o) => JSON.stringify(o.value)), input.options.map((o) => o.weight)],
      );
      return fromRow((await client.query<Row>(`${SELECT} WHERE e.id = $1`, [id])).rows[0]!);
    });
  }

  list(): Promise<StoredExperiment[]> {
    return db(async () => (await this.pool.query<Row>(`${SELECT} ORDER BY e.id`)).rows.map(fromRow));
  }

  running(): Promise<StoredExperiment[]> {
    return db(async () =>
      (await this.pool.query<Row>(`${SELECT} WHERE e.status = 'running' ORDER BY e.id`)).rows.map(fromRow),
    );
  }

  async get(key: string): Promise<StoredExperiment> {
    const rows = await db(() => this.pool.query<Row>(`${SELECT} WHERE e.key = $1`, [key]));
    if (rows.rowCount === 0) throw new NotFoundError(`no experiment ${key}`);
    return fromRow(rows.rows[0]!);
  }

  /** Stops serving the experiment. Idempotent; assignments stay (the stats keep them). */
  async stop(key: string): Promise<StoredExperiment> {
    await db(() =>
      this.pool.query(
        `UPDATE experiments SET status = 'stopped', stopped_at = clock_timestamp()
          WHERE key = $1 AND status = 'running'`,
        [key],
      ),
    );
    return this.get(key);
  }

  /** New weights for future assignments; devices already assigned keep their value. */
  updateWeights(key: string, weights: number[]): Promise<StoredExperiment> {
    return inTransaction(this.pool, async (client) => {
      const found = await client.query<{ id: string; n: string }>(
        `SELECT e.id, (SELECT count(*) FROM experiment_options o WHERE o.experiment_id = e.id) AS n
           FROM experiments e WHERE e.key = $1 FOR UPDATE`,
        [key],
      );
      if (found.rowCount === 0) throw new NotFoundError(`no experiment ${key}`);
      const { id, n } = found.rows[0]!;
      if (Number(n) !== weights.length) {
        throw new ValidationError(`expected ${n} weights, one per option, got ${weights.length}`, {
          details: [{ path: 'weights', code: 'length', message: `must have ${n} items` }],
        });
      }
      await client.query(
        `UPDATE experiment_options o SET weight = w.weight
           FROM unnest($2::float8[]) WITH ORDINALITY AS w (weight, ord)
          WHERE o.experiment_id = $1 AND o.position = w.ord - 1`,
        [id, weights],
      );
      return fromRow((await client.query<Row>(`${SELECT} WHERE e.id = $1`, [id])).rows[0]!);
    });
  }
}
