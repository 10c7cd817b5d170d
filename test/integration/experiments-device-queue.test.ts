import { expect } from 'chai';
import { startHarness, type Harness, type JsonResponse } from '../helpers/harness.js';
import { getExperiments, newDevice } from '../helpers/experiments.js';
import { waitFor } from '../helpers/kafka-helpers.js';

describe('experiments: the device queue is bounded (EXPERIMENTS_DEVICE_QUEUE_MAX)', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => {
    // Every load goes to the registering statement, one at a time: what arrives while it
    // runs waits in its queue.
    h = await startHarness({
      env: { EXPERIMENTS_DEVICE_QUEUE_MAX: '2', EXPERIMENTS_DEVICE_LOAD: 'one-statement' },
    });
  });
  after(async () => {
    await h.stop();
  });

  it('answers 503 with Retry-After at once while the queue is full, and serves the queued ones when PostgreSQL is back', async () => {
    // PostgreSQL stalls: a transaction holds a lock that blocks every registration.
    const blocker = await h.pool.connect();
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      await blocker.query('COMMIT');
      blocker.release();
    };
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE devices IN SHARE MODE');
      const first = getExperiments(h, newDevice());
      await waitFor(
        'the first registration to wait on the lock',
        async () =>
          (
            await h.pool.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock'
                  AND query LIKE '%INSERT INTO devices%'`,
            )
          ).rows[0]!.n,
        (n) => n === 1,
        30_000,
      );

      const devices = Array.from({ length: 6 }, () => newDevice());
      const settled: JsonResponse[] = [];
      const extras = devices.map((d) =>
        getExperiments(h, d).then((res) => {
          settled.push(res);
          return res;
        }),
      );
      // Two wait in the queue; the others are refused without waiting for the database.
      const refused = await waitFor(
        'the requests beyond the queue to be answered',
        () => Promise.resolve([...settled]),
        (s) => s.length >= devices.length - 2,
        30_000,
      );
      expect(refused.map((r) => r.status)).to.deep.equal(Array(devices.length - 2).fill(503));
      for (const r of refused) {
        expect(r.body.error.code).to.equal('overloaded');
        expect(r.body.error).to.have.keys('code', 'message', 'details');
        expect(r.headers.get('retry-after')).to.equal('1');
      }

      await release();
      expect((await first).status).to.equal(200);
      const all = await Promise.all(extras);
      expect(all.filter((r) => r.status === 200)).to.have.length(2);
      // A refused device retries and is served.
      const retried = devices.filter((_, i) => all[i]!.status === 503);
      for (const d of retried) expect((await getExperiments(h, d)).status).to.equal(200);
      const stored = await h.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM devices WHERE token = ANY($1)',
        [devices],
      );
      expect(stored.rows[0]!.n).to.equal(devices.length);
    } finally {
      await release();
    }
  });
});
