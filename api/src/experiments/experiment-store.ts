import type { Pool, PoolClient } from 'pg';
import type { CreateExperiment, OptionValue, SegmentTargeting } from '../../../lib/contracts/experiment.js';
import { db, isUniqueViolation } from '../../../lib/db/errors.js';
import { inTransaction } from '../db/transaction.js';
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
  /** Segment targeting (slugs); both empty: every eligible device. */
  include: string[];
  exclude: string[];
}

/** Whether entry depends on the viewer's segments. */
export function isTargeted(e: StoredExperiment): boolean {
  return e.include.length > 0 || e.exclude.length > 0;
}

/** Whether a viewer active in `segments` may enter a targeted experiment. */
export function admits(e: StoredExperiment, segments: ReadonlySet<string>): boolean {
  return (
    (e.include.length === 0 || e.include.some((s) => segments.has(s))) &&
    !e.exclude.some((s) => segments.has(s))
  );
}

/**
 * Whether a device's value in `e` may be served in a request whose viewer is active in
 * `segments` (null: no viewer token). Open experiments: always. Targeted ones: only while the
 * request proves membership, on every request, also once the device holds a stored value: a
 * Device-Token alone is no proof (a member's token passed on would carry the gated value).
 */
export function mayServe(e: StoredExperiment, segments: ReadonlySet<string> | null): boolean {
  return !isTargeted(e) || (segments !== null && admits(e, segments));
}

// Times as epoch microseconds: a JS Date would round both sides to milliseconds, and a
// device first seen within the same millisecond before the experiment must not get it.
const SELECT = `
  SELECT e.id, e.key, e.description, e.seed, e.status, e.include_segments, e.exclude_segments,
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
  include_segments: string[];
  exclude_segments: string[];
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
    include: r.include_segments,
    exclude: r.exclude_segments,
  };
}

/** Experiments and their options in PostgreSQL. */
export class ExperimentStore {
  constructor(private readonly pool: Pool) {}

  create(input: CreateExperiment): Promise<StoredExperiment> {
    return inTransaction(this.pool, async (client) => {
      await checkSegmentsExist(client, input.segments);
      let id: string;
      try {
        const inserted = await client.query<{ id: string }>(
          `INSERT INTO experiments (key, description, include_segments, exclude_segments)
           VALUES ($1, $2, $3, $4) RETURNING id`,
          [input.key, input.description ?? '', input.segments?.include ?? [], input.segments?.exclude ?? []],
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
      const found = await client.query<{ id: string; n: string; status: string }>(
        `SELECT e.id, e.status, (SELECT count(*) FROM experiment_options o WHERE o.experiment_id = e.id) AS n
           FROM experiments e WHERE e.key = $1 FOR UPDATE`,
        [key],
      );
      if (found.rowCount === 0) throw new NotFoundError(`no experiment ${key}`);
      const { id, n, status } = found.rows[0]!;
      // A stopped experiment assigns no device again: new weights would change nothing
      // served, only what its record says it was.
      if (status !== 'running')
        throw new ConflictError(`experiment ${key} is stopped: its weights stay as they ran`);
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

/** Targeting may only name segments that exist (a typo would silently exclude everyone). */
async function checkSegmentsExist(
  client: PoolClient,
  targeting: SegmentTargeting | undefined,
): Promise<void> {
  if (targeting === undefined) return;
  const named = [
    ...targeting.include.map((slug, i) => ({ slug, path: `segments.include.${i}` })),
    ...targeting.exclude.map((slug, i) => ({ slug, path: `segments.exclude.${i}` })),
  ];
  if (named.length === 0) return;
  const found = await client.query<{ slug: string }>('SELECT slug FROM segments WHERE slug = ANY($1)', [
    named.map((n) => n.slug),
  ]);
  const known = new Set(found.rows.map((r) => r.slug));
  const unknown = named.filter((n) => !known.has(n.slug));
  if (unknown.length > 0) {
    throw new ValidationError(`no segment ${unknown.map((u) => u.slug).join(', ')}`, {
      details: unknown.map((u) => ({
        path: u.path,
        code: 'unknown_segment',
        message: `no segment ${u.slug}`,
      })),
    });
  }
}
