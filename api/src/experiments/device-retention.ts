import type { Pool } from 'pg';
import { db } from '../../../lib/db/errors.js';
import type { Service } from '../../../lib/lifecycle.js';
import type { Logger } from '../../../lib/log.js';

/** Devices deleted per statement: short transactions, few rows locked at once. */
const CHUNK = 1000;

/**
 * Deletes the devices not seen for `days` days (the later of first_seen_at and last_seen_at,
 * migration 6), with their assignments (the delete trigger of migration 5, in the same
 * statement, so the stats never count an assignment without its device or the reverse).
 * In chunks; `SKIP LOCKED` leaves a row that is being recorded as seen (it came back) or
 * that another API process is deleting in the same run. Returns how many were deleted.
 */
export async function purgeStaleDevices(pool: Pool, days: number): Promise<number> {
  let total = 0;
  for (;;) {
    const res = await db(() =>
      pool.query({
        name: 'devices-purge',
        text: `DELETE FROM devices d
                USING (SELECT token FROM devices
                        WHERE coalesce(last_seen_at, first_seen_at) < clock_timestamp() - make_interval(days => $1)
                        LIMIT $2
                          FOR UPDATE SKIP LOCKED) AS stale
                WHERE d.token = stale.token`,
        values: [days, CHUNK],
      }),
    );
    total += res.rowCount ?? 0;
    if ((res.rowCount ?? 0) < CHUNK) return total;
  }
}

/**
 * Device retention (EXPERIMENTS_DEVICE_RETENTION_DAYS): a minute after start, then daily,
 * purges the devices not seen for that long. Every API process runs it; concurrent runs
 * share the work (SKIP LOCKED). Daily because retention counts in days and each run reads
 * the whole devices table (last_seen_at has no index, so recording a device stays cheap).
 */
export class DeviceRetention implements Service {
  readonly name = 'device-retention';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly days: number,
    private readonly log: Logger,
    private readonly firstAfterMs = 60_000,
    private readonly everyMs = 86_400_000,
  ) {}

  start(): Promise<void> {
    this.schedule(this.firstAfterMs);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.running = this.run().finally(() => {
        this.running = undefined;
        if (this.timer !== undefined) this.schedule(this.everyMs);
      });
    }, ms);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const started = performance.now();
    try {
      const deleted = await purgeStaleDevices(this.pool, this.days);
      this.log.info(
        { deleted, retention_days: this.days, duration_ms: Math.round(performance.now() - started) },
        'devices_purged',
      );
    } catch (err) {
      this.log.warn({ err }, 'devices_purge_failed');
    }
  }
}
