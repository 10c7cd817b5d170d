import type { Pool } from 'pg';
import { BatchLoader, type BatchLoaderOptions } from '../db/batch-loader.js';
import { db } from '../../../lib/db/errors.js';
import { DEVICE_READ_SQL } from './device-load-sql.js';
import { deviceState, withStored, type DeviceState } from './device-state.js';

/** A row of DEVICE_READ_SQL. */
export interface DeviceRow {
  token: string;
  first_seen_us: string;
  last_seen_us: string | null;
  experiment_id: string | null;
  option_position: number | null;
}

/** Reads devices; concurrent lookups share one query (BatchLoader). */
export class DeviceReader {
  private readonly loader: BatchLoader<string, DeviceState>;

  constructor(
    private readonly pool: Pool,
    batching: BatchLoaderOptions = {},
  ) {
    this.loader = new BatchLoader((tokens) => this.query(tokens), batching);
  }

  async read(token: string): Promise<DeviceState | null> {
    return (await this.loader.load(token)) ?? null;
  }

  private async query(tokens: string[]): Promise<Map<string, DeviceState>> {
    const res = await db(() =>
      this.pool.query<DeviceRow>({
        name: 'devices-read',
        text: DEVICE_READ_SQL,
        values: [tokens],
      }),
    );
    const states = new Map<string, DeviceState>();
    for (const r of res.rows) {
      const state =
        states.get(r.token) ??
        deviceState(Number(r.first_seen_us), Number(r.last_seen_us ?? r.first_seen_us));
      states.set(
        r.token,
        r.experiment_id === null ? state : withStored(state, Number(r.experiment_id), r.option_position!),
      );
    }
    return states;
  }
}
