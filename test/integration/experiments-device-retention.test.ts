import { expect } from 'chai';
import { purgeStaleDevices } from '../../api/src/experiments/device-retention.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { getExperiments, newDevice } from '../helpers/experiments.js';
import { waitFor } from '../helpers/kafka-helpers.js';

describe('experiments: device retention (EXPERIMENTS_DEVICE_RETENTION_DAYS)', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { EXPERIMENTS_DEVICE_RETENTION_DAYS: '180' } });
  });
  after(async () => {
    await h.stop();
  });

  const count = async (sql: string, values: unknown[]) =>
    (await h.pool.query<{ n: number }>(sql, values)).rows[0]!.n;

  it('deletes devices not seen for the retention period with their assignments, and keeps the others', async () => {
    const d = { old: newDevice(), recent: newDevice(), returned: newDevice() };
    for (const device of Object.values(d)) expect((await getExperiments(h, device)).status).to.equal(200);
    const assigned = await count('SELECT count(*)::int AS n FROM assignments WHERE device_token = $1', [
      d.recent,
    ]);
    expect(assigned).to.be.greaterThan(0);
    // First seen 200 days ago; one of them was seen again 10 days ago.
    await h.pool.query(
      `UPDATE devices SET first_seen_at = clock_timestamp() - interval '200 days' WHERE token = ANY($1)`,
      [[d.old, d.returned]],
    );
    await h.pool.query(
      `UPDATE devices SET last_seen_at = clock_timestamp() - interval '10 days' WHERE token = $1`,
      [d.returned],
    );

    await purgeStaleDevices(h.pool, 180);
    const left = await h.pool.query<{ token: string }>('SELECT token FROM devices WHERE token = ANY($1)', [
      Object.values(d),
    ]);
    expect(left.rows.map((r) => r.token)).to.have.members([d.recent, d.returned]);
    expect(
      await count('SELECT count(*)::int AS n FROM assignments WHERE device_token = $1', [d.old]),
    ).to.equal(0);
    for (const kept of [d.recent, d.returned])
      expect(
        await count('SELECT count(*)::int AS n FROM assignments WHERE device_token = $1', [kept]),
      ).to.equal(assigned);
    // Stats stay consistent: no assignment is left without its device.
    expect(
      await count(
        `SELECT count(*)::int AS n FROM assignments a WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.token = a.device_token)`,
        [],
      ),
    ).to.equal(0);
    expect(await purgeStaleDevices(h.pool, 180)).to.equal(0);
  });

  it('records a returning device as seen once a day, not on every request', async () => {
    // Stored three days ago (another API process, or before a restart): not in this one's cache.
    const device = newDevice();
    await h.pool.query(
      `INSERT INTO devices (token, first_seen_at) VALUES ($1, clock_timestamp() - interval '3 days')`,
      [device],
    );
    expect((await getExperiments(h, device)).status).to.equal(200);
    const seen = await waitFor(
      'the device to be recorded as seen',
      async () =>
        (
          await h.pool.query<{ recent: boolean | null; version: string }>(
            `SELECT last_seen_at > clock_timestamp() - interval '1 minute' AS recent, xmin::text AS version
               FROM devices WHERE token = $1`,
            [device],
          )
        ).rows[0]!,
      (r) => r.recent === true,
      30_000,
    );
    // Served again: the row is not written again (same row version).
    for (let i = 0; i < 3; i++) expect((await getExperiments(h, device)).status).to.equal(200);
    const after = await h.pool.query<{ version: string }>(
      'SELECT xmin::text AS version FROM devices WHERE token = $1',
      [device],
    );
    expect(after.rows[0]!.version).to.equal(seen.version);
  });
});
