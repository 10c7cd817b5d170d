import { expect } from 'chai';
import pg from 'pg';
import { createPool, ensureDatabase, type PostgresOptions } from '../../lib/db/postgres.js';
import { uniqueName } from '../helpers/ids.js';
import { waitFor } from '../helpers/kafka-helpers.js';
import { dropDatabase, testDatabaseUrl } from '../helpers/postgres.js';

// The device endpoint's statements run on pooled connections; a pool that closed them all in
// a quiet spell made the first burst after it open new backends inline (ADR 0006).
const IDLE_MS = 150;

describe('PostgreSQL pool: connections kept open when idle', function () {
  const url = testDatabaseUrl(uniqueName('sa_pool'));
  const base = (poolMin: number, poolMax: number, applicationName: string): PostgresOptions => ({
    url,
    password: undefined,
    poolMin,
    poolMax,
    connectTimeoutMs: 2000,
    statementTimeoutMs: 5000,
    applicationName,
    idleTimeoutMs: IDLE_MS,
  });
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  // Dropping the test database at the end terminates every backend on it; an idle client
  // told so is expected then, not a failure of the test.
  admin.on('error', () => {});

  before(async () => {
    await ensureDatabase(base(0, 1, 'sa-pool-test'));
  });
  after(async () => {
    await admin.end();
    await dropDatabase(url);
  });

  /** Backends PostgreSQL holds for one application name. */
  const backends = async (applicationName: string) =>
    (
      await admin.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
        [applicationName],
      )
    ).rows[0]!.n;

  /** Backends of one application name, and how many of them have been idle at least `ms`. */
  const idleBackends = async (applicationName: string, ms: number) =>
    (
      await admin.query<{ all: number; idle: number }>(
        `SELECT count(*)::int AS all,
                count(*) FILTER (WHERE state = 'idle' AND clock_timestamp() - state_change >= $2 * interval '1 ms')::int AS idle
           FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
        [applicationName, ms],
      )
    ).rows[0]!;

  /**
   * Opens `n` connections at once, each held until all have one (on a loaded host a
   * statement alone could end, and its client idle out, before the last one connects),
   * then lets them go idle. Returns how many the pool held.
   */
  const burst = async (pool: pg.Pool, n: number) => {
    const clients = await Promise.all(Array.from({ length: n }, () => pool.connect()));
    const held = pool.totalCount;
    for (const c of clients) c.release();
    return held;
  };

  for (const [poolMin, poolMax, kept] of [
    [3, 6, 3],
    [0, 6, 0],
    [8, 4, 4],
  ] as const) {
    it(`POSTGRES_POOL_MIN ${poolMin} with POSTGRES_POOL_MAX ${poolMax}: ${kept} stay open past the idle timeout`, async () => {
      const name = uniqueName('sa-pool');
      const pool = createPool(base(poolMin, poolMax, name));
      try {
        expect(await burst(pool, Math.min(6, poolMax))).to.equal(Math.min(6, poolMax));
        // Until every backend left has been idle for three idle timeouts (PostgreSQL's own
        // record): those above the minimum are closed by then, and the kept ones outlived it.
        await waitFor(
          'the backends left to have been idle for three idle timeouts',
          () => idleBackends(name, 3 * IDLE_MS),
          (b) => b.all === b.idle && b.all === pool.totalCount,
          10_000,
          50,
        );
        expect(pool.totalCount).to.equal(kept);
        expect(await backends(name)).to.equal(kept);
        // The kept ones still serve.
        expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).to.equal(1);
      } finally {
        await pool.end();
      }
    });
  }
});
