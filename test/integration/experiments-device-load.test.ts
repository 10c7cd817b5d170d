import { expect } from 'chai';
import pg from 'pg';
import { DEVICE_LOAD_SQL, DEVICE_READ_SQL } from '../../api/src/experiments/device-load-sql.js';
import { DeviceLoader } from '../../api/src/experiments/device-loader.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { createExperiment, getExperiments, newDevice } from '../helpers/experiments.js';
import { uniqueName } from '../helpers/ids.js';
import { dropDatabase, testDatabaseUrl } from '../helpers/postgres.js';
import { storedExperiment } from '../helpers/stored-experiment.js';
import { migratePostgres } from '../../lib/db/migrate.js';
import { PG_MIGRATIONS } from '../../lib/db/migrations/index.js';
import { createLogger } from '../../lib/log.js';

const HALVES = [
  { value: 'a', weight: 1 },
  { value: 'b', weight: 1 },
];

// Assignments have no foreign keys (PostgreSQL migration 5): their one writer and two
// triggers keep what the keys guaranteed.
describe('experiments: assignments kept consistent without foreign keys', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { EXPERIMENTS_CACHE_MS: '0' } });
  });
  after(async () => {
    await h.stop();
  });

  const assignmentsOf = async (column: 'device_token' | 'experiment_id', value: string) =>
    (await h.pool.query(`SELECT count(*)::int AS n FROM assignments WHERE ${column} = $1`, [value])).rows[0]
      .n as number;

  const experimentId = async (key: string) =>
    (await h.pool.query<{ id: string }>('SELECT id FROM experiments WHERE key = $1', [key])).rows[0]!.id;

  it('removes the assignments of a deleted device, as ON DELETE CASCADE did', async () => {
    const gone = newDevice();
    const kept = newDevice();
    for (const d of [gone, kept]) expect((await getExperiments(h, d)).status).to.equal(200);
    expect(await assignmentsOf('device_token', gone)).to.be.greaterThan(0);
    await h.pool.query('DELETE FROM devices WHERE token = $1', [gone]);
    expect(await assignmentsOf('device_token', gone)).to.equal(0);
    expect(await assignmentsOf('device_token', kept)).to.be.greaterThan(0);
  });

  it('removes the assignments of a deleted experiment, and only those', async () => {
    const key = uniqueName('exp_deleted');
    expect((await createExperiment(h, key, HALVES)).status).to.equal(201);
    const device = newDevice();
    expect((await getExperiments(h, device)).status).to.equal(200);
    const id = await experimentId(key);
    expect(await assignmentsOf('experiment_id', id)).to.equal(1);
    const before = await assignmentsOf('device_token', device);
    await h.pool.query('DELETE FROM experiments WHERE id = $1', [id]);
    expect(await assignmentsOf('experiment_id', id)).to.equal(0);
    expect(await assignmentsOf('device_token', device)).to.equal(before - 1);
  });

  it('stores no assignment for an experiment id that does not exist', async () => {
    const key = uniqueName('exp_exists');
    expect((await createExperiment(h, key, HALVES)).status).to.equal(201);
    const real = Number(await experimentId(key));
    const missing = Number(
      (await h.pool.query<{ id: string }>('SELECT coalesce(max(id), 0) + 1000 AS id FROM experiments'))
        .rows[0]!.id,
    );
    const device = newDevice();
    const loaded = await new DeviceLoader(h.pool).load(device, [
      storedExperiment(real, [1, 1]),
      storedExperiment(missing, [1, 1]),
    ]);
    expect(loaded.registered).to.equal(true);
    expect(loaded.created).to.deep.equal([real]);
    const rows = await h.pool.query<{ experiment_id: string }>(
      'SELECT experiment_id FROM assignments WHERE device_token = $1',
      [device],
    );
    expect(rows.rows.map((r) => Number(r.experiment_id))).to.deep.equal([real]);
  });
});

describe('experiments: the device-load statement plan', function () {
  this.timeout(60_000);
  const url = testDatabaseUrl(uniqueName('device_load_plan'));
  let client: pg.Client;
  before(async () => {
    await dropDatabase(url);
    const admin = new pg.Client({ connectionString: testDatabaseUrl('postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(new URL(url).pathname.slice(1))}`);
    await admin.end();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    await migratePostgres(pool, PG_MIGRATIONS, createLogger({ level: 'warn', pretty: false, name: 'test' }));
    await pool.end();
    client = new pg.Client({ connectionString: url });
    await client.connect();
  });
  after(async () => {
    await client.end();
    await dropDatabase(url);
  });

  // A prepared statement's generic plan is made once, early in a connection's life, and kept
  // until the tables are analysed again. Made while they held a few hundred rows and had
  // never been analysed (a new deployment; autovacuum off), the earlier form of this
  // statement read all of `assignments` on every call, and a scratch run at 2,000 new
  // devices/s collapsed as the table grew. Each device and its assignments must be reached
  // through the primary keys whatever the estimates.
  it('reads devices and assignments by key in the plans it keeps, even made before any ANALYZE', async () => {
    await client.query(`INSERT INTO devices (token) SELECT 'seed-' || g FROM generate_series(1, 600) g`);
    await client.query(
      `INSERT INTO assignments (device_token, experiment_id, option_position)
       SELECT 'seed-' || g, e.id, 0 FROM generate_series(1, 600) g, experiments e`,
    );
    const analysed = await client.query(
      `SELECT count(*)::int AS n FROM pg_stat_user_tables
        WHERE relname IN ('devices', 'assignments') AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)`,
    );
    expect(analysed.rows[0].n).to.equal(0);
    await client.query('SET plan_cache_mode = force_generic_plan');
    const statements = [
      { name: 'device_read', sql: DEVICE_READ_SQL, types: 'text[]', args: `'{a}'` },
      {
        name: 'device_load',
        sql: DEVICE_LOAD_SQL,
        types: 'text[], text[], bigint[], smallint[], bigint[]',
        args: `'{a}', '{a}', '{1}', '{0}', '{0}'`,
      },
    ];
    for (const st of statements) {
      await client.query(`PREPARE ${st.name} (${st.types}) AS ${st.sql}`);
      const plan = (
        await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE ${st.name} (${st.args})`)
      ).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n');
      expect(plan, st.name).to.match(/Index Scan using devices_pkey/);
      expect(plan, st.name).to.match(/assignments_pkey/);
      expect(plan, st.name).to.not.match(/Seq Scan on (devices|assignments)/);
    }
  });
});
