import type { Pool } from 'pg';
import { db } from '../../../lib/db/errors.js';
import type { Logger } from '../../../lib/log.js';
import { RetentionJob } from '../db/retention-job.js';

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
export function deviceRetention(
  pool: Pool,
  days: number,
  log: Logger,
  onDeleted: (rows: number) => void,
): RetentionJob {
  return new RetentionJob({
    name: 'device-retention',
    purge: async () => ({ deleted: await purgeStaleDevices(pool, days), retention_days: days }),
    log,
    events: { done: 'devices_purged', failed: 'devices_purge_failed' },
    onDeleted,
  });
}
