import type { Pool } from 'pg';
import { BatchLoader } from '../db/batch-loader.js';
import { db } from '../../../lib/db/errors.js';

/** Records that a device was seen today (device retention; migration 6). */
export interface DeviceSeen {
  /** Fire and forget: the device's answer never waits for it. */
  record(token: string): void;
}

/**
 * Writes `devices.last_seen_at` when AssignmentService serves a device it last knew as seen
 * a day or more ago: at most one statement per device per day and process, shared by the
 * devices of one turn and of the statement in flight (BatchLoader).
 *
 * The statement writes only rows not recorded in the last 20 hours, so when several API
 * processes see the device the same day one row version is written; 20 rather than 24
 * leaves room for the API's clock and PostgreSQL's to differ by a few hours. `SKIP LOCKED`:
 * a row another process is recording right now, or that the retention job is deleting, is
 * left to it; two batches never wait on each other (and cannot deadlock).
 */
export class DeviceSeenWriter implements DeviceSeen {
  private readonly loader: BatchLoader<string, true>;

  constructor(
    private readonly pool: Pool,
    private readonly onError: (err: unknown) => void,
    /** Most tokens waiting for the statement; more are dropped (asked again tomorrow). */
    maxQueued: number,
  ) {
    this.loader = new BatchLoader((tokens) => this.write(tokens), {
      maxBatch: 1000,
      maxInFlight: 1,
      maxQueued,
      overflow: () => new Error('device seen queue full'),
    });
  }

  record(token: string): void {
    // Only a full queue rejects (write() reports its own failures once per statement): the
    // device is recorded on another day, or by another process.
    this.loader.load(token).catch(() => {});
  }

  private async write(tokens: string[]): Promise<Map<string, true>> {
    await db(() =>
      this.pool.query({
        name: 'devices-seen',
        text: `UPDATE devices d SET last_seen_at = clock_timestamp()
                 FROM (SELECT token FROM devices
                        WHERE token = ANY($1::text[])
                          AND coalesce(last_seen_at, first_seen_at) < clock_timestamp() - interval '20 hours'
                        ORDER BY token
                          FOR UPDATE SKIP LOCKED) AS due
                WHERE d.token = due.token`,
        values: [tokens],
      }),
    ).catch(this.onError);
    return new Map();
  }
}
