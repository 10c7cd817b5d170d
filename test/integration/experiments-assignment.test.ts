import { expect } from 'chai';
import { harnessBehindPostgresProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import {
  adminToken,
  asMap,
  createExperiment,
  getExperiments,
  inParallel,
  newDevice,
} from '../helpers/experiments.js';
import { uniqueName } from '../helpers/ids.js';
import { waitFor } from '../helpers/kafka-helpers.js';
import { bucketOf, pickOption } from '../../api/src/experiments/bucketing.js';

// Both ways of loading a device the API does not hold (EXPERIMENTS_DEVICE_LOAD; the default,
// adaptive, switches between them and runs in every other suite).
for (const mode of ['lookup-first', 'one-statement']) {
  describe(`experiments: assignment (GET /api/v1/experiments), devices loaded ${mode}`, function () {
    this.timeout(120_000);
    let h: Harness;
    before(async () => {
      h = await startHarness({ env: { EXPERIMENTS_CACHE_MS: '0', EXPERIMENTS_DEVICE_LOAD: mode } });
    });
    after(async () => {
      await h.stop();
    });

    const assignmentRows = async (device: string) =>
      (
        await h.pool.query<{ key: string; option_position: number }>(
          `SELECT e.key, a.option_position FROM assignments a JOIN experiments e ON e.id = a.experiment_id
          WHERE a.device_token = $1 ORDER BY e.id`,
          [device],
        )
      ).rows;

    it("serves the spec's two examples out of the box, in the spec's shape", async () => {
      const res = await getExperiments(h, newDevice());
      expect(res.status).to.equal(200);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      expect(res.body).to.be.an('array').with.length(2);
      for (const item of res.body) expect(Object.keys(item)).to.have.length(1);
      expect(Object.keys(res.body[0])).to.deep.equal(['button_color']);
      expect(Object.keys(res.body[1])).to.deep.equal(['price']);
      expect(['#FF0000', '#00FF00', '#0000FF']).to.include(res.body[0].button_color);
      expect([10, 20, 50, 5]).to.include(res.body[1].price);
    });

    it('keeps a device on its value across requests', async () => {
      const device = newDevice();
      const first = await getExperiments(h, device);
      for (let i = 0; i < 5; i++) {
        expect((await getExperiments(h, device)).body).to.deep.equal(first.body);
      }
      const stored = await assignmentRows(device);
      expect(stored.map((r) => r.key)).to.deep.equal(['button_color', 'price']);
    });

    it('answers 400 in the shared error shape for a missing or malformed Device-Token', async () => {
      const before = (await h.pool.query('SELECT count(*)::int AS n FROM devices')).rows[0].n;
      const missing = await getExperiments(h, undefined);
      expect(missing.status).to.equal(400);
      expect(missing.body.error.code).to.equal('validation_failed');
      expect(missing.body.error.details[0]).to.include({ path: 'Device-Token', code: 'required' });
      for (const bad of ['short', 'has space in it', 'x'.repeat(129), 'semi;colon-token']) {
        const res = await getExperiments(h, bad);
        expect(res.status, bad).to.equal(400);
        expect(res.body.error.details[0]).to.include({ path: 'Device-Token', code: 'invalid_format' });
      }
      const after = (await h.pool.query('SELECT count(*)::int AS n FROM devices')).rows[0].n;
      expect(after).to.equal(before);
    });

    it('answers 401 when a viewer token is sent and invalid (and assigns nothing)', async () => {
      const device = newDevice();
      const res = await getExperiments(h, device, 'not.a.jwt');
      expect(res.status).to.equal(401);
      expect(await assignmentRows(device)).to.deep.equal([]);
    });

    it('gives an experiment only to devices first seen after it was created', async () => {
      const oldDevice = newDevice();
      await getExperiments(h, oldDevice);
      const key = uniqueName('exp_new_only');
      expect(
        (
          await createExperiment(h, key, [
            { value: 'a', weight: 1 },
            { value: 'b', weight: 1 },
          ])
        ).status,
      ).to.equal(201);
      const fresh = newDevice();
      expect(asMap((await getExperiments(h, fresh)).body)).to.have.property(key);
      expect(asMap((await getExperiments(h, oldDevice)).body)).to.not.have.property(key);
      expect((await assignmentRows(oldDevice)).map((r) => r.key)).to.not.include(key);
    });

    it('serves a device another replica registered from its stored values, and rewrites nothing', async () => {
      const key = uniqueName('exp_known');
      await createExperiment(h, key, [
        { value: 'a', weight: 1 },
        { value: 'b', weight: 1 },
      ]);
      const device = newDevice();
      // Registered and assigned elsewhere, with the option this device's hash would not give it.
      const { rows } = await h.pool.query<{ id: string; seed: string }>(
        'SELECT id, seed FROM experiments WHERE key = $1',
        [key],
      );
      const theirs = 1 - pickOption([1, 1], bucketOf(rows[0]!.seed, device));
      await h.pool.query('INSERT INTO devices (token) VALUES ($1)', [device]);
      await h.pool.query(
        'INSERT INTO assignments (device_token, experiment_id, option_position) VALUES ($1, $2, $3)',
        [device, rows[0]!.id, theirs],
      );
      const version = async () =>
        (
          await h.pool.query<{ v: string }>(
            `SELECT (SELECT xmin::text FROM devices WHERE token = $1) || '/' ||
                  (SELECT string_agg(xmin::text, ',' ORDER BY experiment_id) FROM assignments WHERE device_token = $1) AS v`,
            [device],
          )
        ).rows[0]!.v;
      const before = await version();
      const res = await getExperiments(h, device);
      expect(res.status).to.equal(200);
      expect(asMap(res.body)[key]).to.equal(['a', 'b'][theirs]);
      // The device was first seen after the spec examples were created: it gets them now.
      expect(asMap(res.body)).to.have.property('price');
      // Its device row and the assignment it had were read, not written again.
      expect((await version()).split('/')[0]).to.equal(before.split('/')[0]);
      expect((await assignmentRows(device)).filter((r) => r.key === key)).to.deep.equal([
        { key, option_position: theirs },
      ]);
    });

    it('never gives two values to one device under concurrent first requests', async () => {
      const key = uniqueName('exp_race');
      await createExperiment(h, key, [
        { value: 1, weight: 1 },
        { value: 2, weight: 1 },
        { value: 3, weight: 1 },
      ]);
      const assignedBefore = await counterValue('experiment_assignments_total', key);
      const devices = Array.from({ length: 10 }, newDevice);
      for (const device of devices) {
        const answers = await Promise.all(Array.from({ length: 12 }, () => getExperiments(h, device)));
        for (const a of answers) expect(a.status).to.equal(200);
        const values = new Set(answers.map((a) => JSON.stringify(asMap(a.body))));
        expect(values.size, device).to.equal(1);
        const rows = (await assignmentRows(device)).filter((r) => r.key === key);
        expect(rows).to.have.length(1);
        expect(asMap(answers[0]!.body)[key]).to.equal([1, 2, 3][rows[0]!.option_position]);
      }
      // Many new devices at once, each asked for three times: registrations share statements
      // (one per event-loop turn), a device can sit in two of them, and every answer must
      // still be the one stored.
      const waitsBefore = await waitCount('devices-load');
      const crowd = Array.from({ length: 60 }, newDevice);
      const asked = [...crowd, ...crowd, ...crowd].sort(() => Math.random() - 0.5);
      const crowdAnswers = await Promise.all(asked.map((d) => getExperiments(h, d)));
      const seen = new Map<string, unknown>();
      crowdAnswers.forEach((a, i) => {
        expect(a.status).to.equal(200);
        const value = asMap(a.body)[key];
        const device = asked[i]!;
        if (seen.has(device)) expect(value, device).to.equal(seen.get(device));
        seen.set(device, value);
      });
      for (const device of crowd) {
        const rows = (await assignmentRows(device)).filter((r) => r.key === key);
        expect(rows, device).to.have.length(1);
        expect(seen.get(device)).to.equal([1, 2, 3][rows[0]!.option_position]);
      }
      // Every caller that waited on the registering statement is timed (pg_batch_wait_seconds).
      expect((await waitCount('devices-load')) - waitsBefore).to.be.at.least(crowd.length);
      // Exactly one first assignment per device was counted: the losers re-read, not re-assign.
      expect((await counterValue('experiment_assignments_total', key)) - assignedBefore).to.equal(
        devices.length + crowd.length,
      );
    });

    it('serves the value of another replica that registers the same new device at the same moment', async () => {
      const key = uniqueName('exp_replica_race');
      await createExperiment(h, key, [
        { value: 'a', weight: 1 },
        { value: 'b', weight: 1 },
        { value: 'c', weight: 1 },
      ]);
      const device = newDevice();
      const assignedBefore = await counterValue('experiment_assignments_total', key);
      // The other replica: device and assignment inserted, not yet committed. Its option is
      // one this device's hash would not give it, so the answer shows whose value was served.
      const other = await h.pool.connect();
      try {
        await other.query('BEGIN');
        const { rows } = await other.query<{ id: string; seed: string }>(
          'SELECT id, seed FROM experiments WHERE key = $1',
          [key],
        );
        const theirs = (pickOption([1, 1, 1], bucketOf(rows[0]!.seed, device)) + 1) % 3;
        await other.query('INSERT INTO devices (token) VALUES ($1)', [device]);
        await other.query(
          'INSERT INTO assignments (device_token, experiment_id, option_position) VALUES ($1, $2, $3)',
          [device, rows[0]!.id, theirs],
        );
        const answer = getExperiments(h, device);
        // The API's statement has reached the uncommitted device and waits for it.
        await waitFor(
          "the API's statement waiting on the uncommitted device",
          async () =>
            (
              await h.pool.query(
                `SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
                   AND wait_event_type = 'Lock' AND query LIKE '%WITH known AS%'`,
              )
            ).rowCount,
          (n) => n === 1,
          20_000,
          50,
        );
        await other.query('COMMIT');
        const res = await answer;
        expect(res.status).to.equal(200);
        expect(asMap(res.body)[key]).to.equal(['a', 'b', 'c'][theirs]);
      } finally {
        other.release();
      }
      const devices = await h.pool.query('SELECT count(*)::int AS n FROM devices WHERE token = $1', [device]);
      expect(devices.rows[0].n).to.equal(1);
      expect((await assignmentRows(device)).filter((r) => r.key === key)).to.have.length(1);
      // The other replica made the assignment: not counted here.
      expect(await counterValue('experiment_assignments_total', key)).to.equal(assignedBefore);
    });

    it('converges on the weights over many devices (tolerance from the sample size)', async () => {
      const key = uniqueName('exp_shares');
      const weights = [75, 10, 5, 10];
      await createExperiment(
        h,
        key,
        weights.map((weight, i) => ({ value: `v${i}`, weight })),
      );
      const n = 2000;
      const answers = await inParallel(Array.from({ length: n }, newDevice), 16, async (d) => {
        const res = await getExperiments(h, d);
        expect(res.status).to.equal(200);
        return asMap(res.body)[key] as string;
      });
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((w, i) => {
        const p = w / total;
        const observed = answers.filter((v) => v === `v${i}`).length / n;
        // 4.5 standard errors: a correct implementation fails this ~1 in 150,000 runs per option.
        const tolerance = 4.5 * Math.sqrt((p * (1 - p)) / n);
        expect(Math.abs(observed - p), `option ${i}: ${observed} vs ${p} ± ${tolerance}`).to.be.at.most(
          tolerance,
        );
      });
    });

    it('keeps assigned devices on their value when the weights change; new devices follow the new weights', async () => {
      const key = uniqueName('exp_reweight');
      await createExperiment(h, key, [
        { value: 'a', weight: 1 },
        { value: 'b', weight: 1 },
      ]);
      const early = Array.from({ length: 40 }, newDevice);
      const before = await inParallel(early, 8, async (d) => asMap((await getExperiments(h, d)).body)[key]);
      expect(before).to.include('a').and.to.include('b');
      const patched = await request(`${h.url}/api/v1/admin/experiments/${key}`, {
        method: 'PATCH',
        token: await adminToken(h),
        body: { weights: [1, 1e6] },
      });
      expect(patched.status).to.equal(200);
      expect(patched.body.options.map((o: { weight: number }) => o.weight)).to.deep.equal([1, 1e6]);
      const after = await inParallel(early, 8, async (d) => asMap((await getExperiments(h, d)).body)[key]);
      expect(after).to.deep.equal(before);
      const late = await inParallel(
        Array.from({ length: 40 }, newDevice),
        8,
        async (d) => asMap((await getExperiments(h, d)).body)[key],
      );
      expect(late.filter((v) => v === 'b').length).to.be.at.least(39);
    });

    it('stops serving a stopped experiment', async () => {
      const key = uniqueName('exp_stop');
      await createExperiment(h, key, [
        { value: true, weight: 1 },
        { value: false, weight: 1 },
      ]);
      const device = newDevice();
      expect(asMap((await getExperiments(h, device)).body)).to.have.property(key);
      const stopped = await request(`${h.url}/api/v1/admin/experiments/${key}/stop`, {
        method: 'POST',
        token: await adminToken(h),
      });
      expect(stopped.status).to.equal(200);
      expect(stopped.body.status).to.equal('stopped');
      expect(stopped.body.stopped_at).to.be.a('string');
      expect(asMap((await getExperiments(h, device)).body)).to.not.have.property(key);
      expect(asMap((await getExperiments(h, newDevice())).body)).to.not.have.property(key);
      // Its weights stay as they ran: a change is a 409, and writes nothing.
      const patched = await request(`${h.url}/api/v1/admin/experiments/${key}`, {
        method: 'PATCH',
        token: await adminToken(h),
        body: { weights: [1, 9] },
      });
      expect([patched.status, patched.body.error.code]).to.deep.equal([409, 'conflict']);
      const after = await request(`${h.url}/api/v1/admin/experiments/${key}`, { token: await adminToken(h) });
      expect(after.body.options.map((o: { weight: number }) => o.weight)).to.deep.equal([1, 1]);
    });

    async function waitCount(statement: string): Promise<number> {
      const metric = await h.metrics.registry.getSingleMetric('pg_batch_wait_seconds')!.get();
      return (
        metric.values.find(
          (v) =>
            v.labels.statement === statement &&
            String((v as { metricName?: string }).metricName).endsWith('_count'),
        )?.value ?? 0
      );
    }

    async function counterValue(name: string, experiment: string): Promise<number> {
      const metric = await h.metrics.registry.getSingleMetric(name)!.get();
      return metric.values.find((v) => v.labels.experiment === experiment)?.value ?? 0;
    }
  });
}

describe('experiments: admin API', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });
  const admin = async (path: string, init: Parameters<typeof request>[1] = {}) =>
    request(`${h.url}/api/v1/admin/experiments${path}`, { token: await adminToken(h), ...init });

  it('lists the seeded spec examples with their weights as shares', async () => {
    const list = await admin('');
    expect(list.status).to.equal(200);
    const price = list.body.experiments.find((e: { key: string }) => e.key === 'price');
    expect(price.options.map((o: { value: number }) => o.value)).to.deep.equal([10, 20, 50, 5]);
    expect(price.options.map((o: { share: number }) => o.share)).to.deep.equal([0.75, 0.1, 0.05, 0.1]);
    const button = (await admin('/button_color')).body;
    expect(button.options.map((o: { value: string }) => o.value)).to.deep.equal([
      '#FF0000',
      '#00FF00',
      '#0000FF',
    ]);
    for (const o of button.options) expect(o.share).to.be.closeTo(1 / 3, 1e-12);
    expect(button).to.not.have.property('seed');
  });

  it('creates, gets and refuses a second experiment with the same key', async () => {
    const key = uniqueName('exp_admin');
    const created = await admin('', {
      body: {
        key,
        description: 'd',
        options: [
          { value: 'x', weight: 2 },
          { value: 'y', weight: 6 },
        ],
      },
    });
    expect(created.status).to.equal(201);
    expect(created.headers.get('location')).to.equal(`/api/v1/admin/experiments/${key}`);
    expect(created.body).to.include({ key, description: 'd', status: 'running', stopped_at: null });
    expect(created.body.options).to.deep.equal([
      { value: 'x', weight: 2, share: 0.25 },
      { value: 'y', weight: 6, share: 0.75 },
    ]);
    expect((await admin(`/${key}`)).body).to.deep.equal(created.body);
    const again = await admin('', {
      body: {
        key,
        options: [
          { value: 1, weight: 1 },
          { value: 2, weight: 1 },
        ],
      },
    });
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal('conflict');
  });

  it('rejects invalid experiments with 400, every bad field listed, and stores nothing', async () => {
    const count = async () => (await h.pool.query('SELECT count(*)::int AS n FROM experiments')).rows[0].n;
    const before = await count();
    const cases: Array<[unknown, string]> = [
      [
        {
          key: 'Bad-Key',
          options: [
            { value: 1, weight: 1 },
            { value: 2, weight: 1 },
          ],
        },
        'key',
      ],
      [{ key: 'one_option', options: [{ value: 1, weight: 1 }] }, 'options'],
      [
        {
          key: 'neg_weight',
          options: [
            { value: 1, weight: -1 },
            { value: 2, weight: 1 },
          ],
        },
        'options[0].weight',
      ],
      [
        {
          key: 'zero_weight',
          options: [
            { value: 1, weight: 0 },
            { value: 2, weight: 1 },
          ],
        },
        'options[0].weight',
      ],
      [
        {
          key: 'dup_values',
          options: [
            { value: 'a', weight: 1 },
            { value: 'a', weight: 1 },
          ],
        },
        'options[1].value',
      ],
      [
        {
          key: 'obj_value',
          options: [
            { value: { a: 1 }, weight: 1 },
            { value: 2, weight: 1 },
          ],
        },
        'options[0].value',
      ],
      // PostgreSQL cannot store NUL in text or jsonb: a 400 naming the field, never a 500.
      [
        {
          key: 'nul_value',
          options: [
            { value: 'a\u0000b', weight: 1 },
            { value: 'zz', weight: 1 },
          ],
        },
        'options[0].value',
      ],
      [
        {
          key: 'nul_description',
          description: 'x\u0000y',
          options: [
            { value: 1, weight: 1 },
            { value: 2, weight: 1 },
          ],
        },
        'description',
      ],
      [
        {
          key: 'extra',
          options: [
            { value: 1, weight: 1 },
            { value: 2, weight: 1 },
          ],
          extra: true,
        },
        '',
      ],
    ];
    for (const [body, path] of cases) {
      const res = await admin('', { body });
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect(res.body.error.code).to.equal('validation_failed');
      expect(
        res.body.error.details.map((d: { path: string }) => d.path),
        JSON.stringify(body),
      ).to.include(path);
    }
    const wrongCount = await admin('/price', { method: 'PATCH', body: { weights: [1, 2] } });
    expect(wrongCount.status).to.equal(400);
    expect(await count()).to.equal(before);
  });

  it('answers 401 without a token, 403 without the admin role, 404 for unknown experiments', async () => {
    const none = await request(`${h.url}/api/v1/admin/experiments`);
    expect(none.status).to.equal(401);
    const viewer = await request(`${h.url}/api/v1/admin/experiments`, { token: await h.token() });
    expect(viewer.status).to.equal(403);
    expect(viewer.body.error.code).to.equal('forbidden');
    expect((await admin('/no_such_experiment')).status).to.equal(404);
    expect((await admin('/no_such_experiment/stop', { method: 'POST' })).status).to.equal(404);
    // A route that reads no body refuses one, rather than act as if it had not been sent.
    const withBody = await admin('/price/stop', { method: 'POST', body: { reason: 'test' } });
    expect(withBody.status).to.equal(400);
    expect(withBody.body.error.code).to.equal('unexpected_body');
    expect(withBody.body.error.message).to.equal(
      'POST /api/v1/admin/experiments/{key}/stop takes no request body',
    );
    expect((await admin('/price')).body.status).to.not.equal('stopped');
    expect((await admin('/Not-A-Key')).status).to.equal(404);
  });
});

describe('experiments: PostgreSQL outage', function () {
  this.timeout(120_000);
  let h: Harness;
  let proxy: TcpProxy;

  before(async () => {
    // A TCP proxy in front of the real PostgreSQL, so the test can cut the database off.
    ({ h, proxy } = await harnessBehindPostgresProxy());
  });
  after(async () => {
    // The harness drops its database through the proxy: stop it first.
    await h.stop();
    await proxy.stop();
  });

  it('answers a fast 503 for devices it must look up while the database is unreachable, and recovers', async () => {
    const known = newDevice();
    const first = await getExperiments(h, known);
    expect(first.status).to.equal(200);
    await proxy.cut();
    const started = Date.now();
    const down = await getExperiments(h, newDevice());
    const tookMs = Date.now() - started;
    expect(down.status).to.equal(503);
    expect(down.body.error.code).to.equal('postgres_unavailable');
    expect(down.headers.get('retry-after')).to.equal('1');
    // Not a hung request: well inside the connect timeout's order of magnitude.
    expect(tookMs).to.be.below(5000);
    const ready = await request(`${h.url}/readyz`);
    expect(ready.status).to.equal(503);
    expect(ready.body.checks).to.include({ postgres: 'unavailable', kafka: 'ok' });
    // A device this process already served keeps its (immutable) values during the outage.
    const cached = await getExperiments(h, known);
    expect(cached.status).to.equal(200);
    expect(cached.body).to.deep.equal(first.body);
    await proxy.restore();
    expect((await getExperiments(h, newDevice())).status).to.equal(200);
  });
});
