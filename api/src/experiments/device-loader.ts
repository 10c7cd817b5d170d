import type { Pool } from 'pg';
import { BatchLoader, type BatchLoaderOptions } from '../db/batch-loader.js';
import { db } from '../../../lib/db/errors.js';
import { bucketOf, pickOption } from './bucketing.js';
import { DEVICE_LOAD_SQL } from './device-load-sql.js';
import type { DeviceRow } from './device-reader.js';
import { deviceState, withStored, type DeviceState } from './device-state.js';
import type { StoredExperiment } from './experiment-store.js';

/** A device as read, or as registered by the statement that loaded it. */
export interface LoadedDevice {
  state: DeviceState;
  /**
   * Experiment ids whose assignment this caller made (a new device's first serve). Concurrent
   * callers for one device share a statement and its answer; only the first is told, so a
   * first assignment is counted once. Empty for a device that was already known.
   */
  created: number[];
  /** Whether the device was unknown and this statement registered it. */
  registered: boolean;
}

interface Shared {
  state: DeviceState;
  inserted: number[];
  registered: boolean;
  claimed: boolean;
}

interface Row extends DeviceRow {
  registered: boolean;
}

/** The option a device gets in an experiment: deterministic hash bucketing, seeded per experiment. */
export function pickFor(e: StoredExperiment, token: string): number {
  return pickOption(
    e.options.map((o) => o.weight),
    bucketOf(e.seed, token),
  );
}

/** The device-load statement's $2-$5: each token's option in each experiment. */
export interface Candidates {
  token: string[];
  experiment: number[];
  position: number[];
  createdUs: number[];
}

/**
 * The candidate assignment of every token (in the order given) in every experiment (by id):
 * the order every writer of assignments uses.
 */
export function candidates(tokens: string[], experiments: StoredExperiment[]): Candidates {
  const ordered = [...experiments].sort((x, y) => x.id - y.id);
  const a: Candidates = { token: [], experiment: [], position: [], createdUs: [] };
  for (const token of tokens) {
    for (const e of ordered) {
      a.token.push(token);
      a.experiment.push(e.id);
      a.position.push(pickFor(e, token));
      a.createdUs.push(e.createdAtUs);
    }
  }
  return a;
}

/**
 * Loads the devices the API does not hold, registering the unknown ones in the same round
 * trip (DEVICE_LOAD_SQL, device-load-sql.ts); concurrent loads share one call
 * (BatchLoader, grouped by the experiments list, which is one shared array while cached).
 *
 * Why one statement: a new device used to cost two (the lookup that found nothing, then the
 * registration), and on this kind of host each statement's cost is mostly the wake-ups on
 * both sides, not the work, so one statement saves CPU on both (architecture/adr/0006).
 *
 * Every call sends the candidate assignment of every token (the hash is cheap); only the
 * unknown tokens use them. Tokens go sorted, then experiment id: the order every writer of
 * these tables uses, so two statements waiting on each other's uncommitted keys cannot deadlock.
 */
export class DeviceLoader {
  private readonly loader: BatchLoader<string, Shared, StoredExperiment[]>;

  constructor(
    private readonly pool: Pool,
    batching: BatchLoaderOptions = { maxBatch: 200 },
  ) {
    this.loader = new BatchLoader((tokens, experiments) => this.call(tokens, experiments ?? []), batching);
  }

  async load(token: string, experiments: StoredExperiment[]): Promise<LoadedDevice> {
    const out = await this.loader.load(token, experiments);
    // The statement answers for every token it was given (read or registered).
    if (out === undefined) throw new Error('the device-load statement returned no row for a token');
    const created = out.claimed ? [] : out.inserted;
    out.claimed = true;
    return { state: out.state, created, registered: out.registered };
  }

  private async call(tokens: string[], experiments: StoredExperiment[]): Promise<Map<string, Shared>> {
    tokens.sort();
    const a = candidates(tokens, experiments);
    const res = await db(() =>
      this.pool.query<Row>({
        name: 'devices-load',
        text: DEVICE_LOAD_SQL,
        values: [tokens, a.token, a.experiment, a.position, a.createdUs],
      }),
    );
    const out = new Map<string, Shared>();
    for (const r of res.rows) {
      let s = out.get(r.token);
      if (s === undefined) {
        s = {
          state: deviceState(Number(r.first_seen_us), Number(r.last_seen_us ?? r.first_seen_us)),
          inserted: [],
          registered: r.registered,
          claimed: false,
        };
        out.set(r.token, s);
      }
      if (r.experiment_id === null) continue;
      const id = Number(r.experiment_id);
      s.state = withStored(s.state, id, r.option_position!);
      if (r.registered) s.inserted.push(id);
    }
    return out;
  }
}
