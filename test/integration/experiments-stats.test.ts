import { expect } from 'chai';
import { groupLag, waitFor } from '../helpers/kafka-helpers.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import {
  adminToken,
  asMap,
  createExperiment,
  getExperiments,
  newDevice,
  statsSession,
} from '../helpers/experiments.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { rawRequest } from '../helpers/raw-request.js';
import { testEnv } from '../helpers/test-env.js';

interface OptionStats {
  index: number;
  value: unknown;
  devices: number;
  share: number;
  target_share: number;
  completion: {
    viewers: number;
    mean: number | null;
    ci95_low: number | null;
    ci95_high: number | null;
  } | null;
}
interface ExperimentStats {
  key: string;
  total_devices: number;
  srm: { chi_square: number; p_value: number; mismatch: boolean };
  options: OptionStats[];
}

/** t(0.975) for 1–30 degrees of freedom, as printed in statistics tables (index = df). */
const T975 = [
  undefined,
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

describe('experiments: exposures and stats', function () {
  this.timeout(180_000);
  let h: Harness;
  const key = uniqueName('exp_stats');
  const skewed = uniqueName('exp_skewed');
  /** viewer → [option value served, completion of the one film they watched]. */
  const viewers = new Map<string, { value: string; completion: number }>();
  let anonymousServes = 0;

  before(async () => {
    h = await startHarness({ etl: true, env: { EXPERIMENTS_CACHE_MS: '0' } });
    expect(
      (
        await createExperiment(h, key, [
          { value: 'control', weight: 1 },
          { value: '<b>bold</b>', weight: 1 },
        ])
      ).status,
    ).to.equal(201);
    expect(
      (
        await createExperiment(h, skewed, [
          { value: 'a', weight: 1 },
          { value: 'b', weight: 1 },
        ])
      ).status,
    ).to.equal(201);

    // 40 signed-in viewers, each on their own device, each watching one film to a known point.
    for (let i = 0; i < 40; i++) {
      const viewer = randomUUID();
      const token = await h.token(viewer);
      const res = await getExperiments(h, newDevice(), token);
      expect(res.status).to.equal(200);
      const value = asMap(res.body)[key] as string;
      const position = 600 + i * 97;
      const duration = 5400;
      const progress = await request(`${h.url}/api/v1/progress/films/${randomUUID()}`, {
        token,
        body: { position_sec: position, duration_sec: duration },
      });
      expect(progress.status).to.equal(202);
      viewers.set(viewer, { value, completion: Math.min(1, position / duration) });
    }
    // Anonymous devices: exposures without a viewer, counted as devices, not in completion.
    for (let i = 0; i < 10; i++) {
      const res = await getExperiments(h, newDevice());
      anonymousServes += res.body.length;
    }
    // A broken split for the SRM check: 300 devices, all on option 0, written as a buggy client would.
    await h.pool.query(
      `WITH d AS (INSERT INTO devices (token) SELECT 'srm-' || g || '-${skewed}' FROM generate_series(1, 300) g RETURNING token)
       INSERT INTO assignments (device_token, experiment_id, option_position)
       SELECT d.token, e.id, 0 FROM d, experiments e WHERE e.key = $1`,
      [skewed],
    );
    const env = testEnv();
    for (const [group, topic] of [
      [h.config.etl.exposuresGroupId, h.config.topics.exposures],
      [h.config.etl.groupId, h.config.topics.progress],
    ] as const) {
      await waitFor(
        `${topic} drained`,
        () => groupLag(env.brokers, group, topic),
        (n) => n === 0,
        60_000,
      );
    }
  });
  after(async () => {
    await h.stop();
  });

  const report = async () => {
    const res = await request(`${h.url}/api/v1/experiments/stats`, { token: await adminToken(h) });
    expect(res.status).to.equal(200);
    return res.body as {
      completion_available: boolean;
      srm_threshold: number;
      experiments: ExperimentStats[];
    };
  };

  it('records one exposure per value served, with the viewer when a token was sent', async () => {
    const rs = await testEnv().clickhouse.query({
      query: `SELECT experiment, value, toString(viewer_id) AS viewer, device_id
                FROM ${h.config.clickhouse.database}.experiment_exposures`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{
      experiment: string;
      value: string;
      viewer: string | null;
      device_id: string;
    }>();
    // Each signed-in request served button_color, price and the two new experiments.
    expect(rows.length).to.equal(viewers.size * 4 + anonymousServes);
    const ours = rows.filter((r) => r.experiment === key && r.viewer !== null);
    expect(ours).to.have.length(viewers.size);
    for (const r of ours) expect(JSON.parse(r.value)).to.equal(viewers.get(r.viewer!)!.value);
    expect(rows.filter((r) => r.viewer === null)).to.have.length(anonymousServes);
    expect(new Set(rows.map((r) => r.device_id)).size).to.equal(viewers.size + 10);
  });

  it('counts devices per option against the weights, with mean completion and its 95% interval', async () => {
    const body = await report();
    expect(body.completion_available).to.equal(true);
    const e = body.experiments.find((x) => x.key === key)!;
    expect(e.total_devices).to.equal(viewers.size + 10);
    expect(e.options.map((o) => o.devices).reduce((a, b) => a + b, 0)).to.equal(e.total_devices);
    expect(e.srm.mismatch).to.equal(false);
    const assigned = await h.pool.query<{ option_position: number; n: number }>(
      `SELECT option_position, count(*)::int AS n FROM assignments a JOIN experiments x ON x.id = a.experiment_id
        WHERE x.key = $1 GROUP BY 1`,
      [key],
    );
    for (const r of assigned.rows) expect(e.options[r.option_position]!.devices).to.equal(r.n);
    for (const o of e.options) {
      expect(o.target_share).to.equal(0.5);
      expect(o.share).to.be.closeTo(o.devices / e.total_devices, 1e-12);
      const values = [...viewers.values()].filter((v) => v.value === o.value).map((v) => v.completion);
      const n = values.length;
      const mean = values.reduce((a, b) => a + b, 0) / n;
      const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
      expect(o.completion!.viewers, String(o.value)).to.equal(n);
      expect(o.completion!.mean!).to.be.closeTo(mean, 1e-9);
      // The interval is centred on the mean, ± Student's t (n − 1 df, from a printed table)
      // standard errors. (The hash split decides n: it can be small, where t is well above 2.)
      const half = (o.completion!.ci95_high! - o.completion!.ci95_low!) / 2;
      const se = Math.sqrt(variance / n);
      expect((o.completion!.ci95_high! + o.completion!.ci95_low!) / 2).to.be.closeTo(mean, 1e-9);
      const t = T975[n - 1];
      if (t !== undefined) expect(half / se, `n = ${n}`).to.be.closeTo(t, 0.0015);
      else expect(half / se, `n = ${n}`).to.be.within(1.96, 2.043);
    }
  });

  it('flags a sample ratio mismatch (chi-square, p < 0.001)', async () => {
    const body = await report();
    expect(body.srm_threshold).to.equal(0.001);
    const e = body.experiments.find((x) => x.key === skewed)!;
    // 300 written straight to option 0, plus the 50 devices of this test assigned by the API.
    expect(e.total_devices).to.equal(300 + viewers.size + 10);
    expect(e.options[0]!.devices).to.be.at.least(300);
    expect(e.srm.mismatch).to.equal(true);
    expect(e.srm.p_value).to.be.below(0.001);
    // χ² for (a, b) against 50/50 is (a − b)² / (a + b).
    const [a, b] = e.options.map((o) => o.devices) as [number, number];
    expect(e.srm.chi_square).to.be.closeTo((a - b) ** 2 / (a + b), 1e-9);
  });

  it('serves the same report as CSV', async () => {
    const res = await fetch(`${h.url}/api/v1/experiments/stats.csv`, {
      headers: { Authorization: `Bearer ${await adminToken(h)}` },
    });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/csv/);
    const lines = (await res.text()).trimEnd().split('\r\n');
    const header = lines[0]!.split(',');
    expect(header.slice(0, 3)).to.deep.equal(['experiment', 'status', 'total_devices']);
    const body = await report();
    const optionRows = body.experiments.reduce((n, e) => n + e.options.length, 0);
    expect(lines).to.have.length(1 + optionRows);
    const col = (name: string) => header.indexOf(name);
    const ours = lines.filter((l) => l.startsWith(`${key},`)).map((l) => l.split(','));
    const e = body.experiments.find((x) => x.key === key)!;
    expect(ours.map((r) => Number(r[col('devices')]))).to.deep.equal(e.options.map((o) => o.devices));
    expect(ours.map((r) => Number(r[col('completion_mean')]))).to.deep.equal(
      e.options.map((o) => o.completion!.mean),
    );
  });

  it('renders the HTML page with the numbers, escaping option values, readable without JavaScript', async () => {
    const res = await fetch(`${h.url}/pages/experiment-stats`, {
      headers: { Cookie: await statsSession(h) },
    });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/html/);
    expect(res.headers.get('content-security-policy')).to.include("default-src 'none'");
    const html = await res.text();
    expect(html).to.not.include('<script');
    expect(html).to.not.include('<b>bold</b>');
    expect(html).to.include('&quot;&lt;b&gt;bold&lt;/b&gt;&quot;');
    const e = (await report()).experiments.find((x) => x.key === key)!;
    const section = html.slice(html.indexOf(`data-experiment="${key}"`));
    expect(section).to.include(`<strong class="total">${e.total_devices}</strong>`);
    expect(section).to.include(`<td class="devices">${e.options[0]!.devices}</td>`);
    const skewedSection = html.slice(html.indexOf(`data-experiment="${skewed}"`));
    expect(skewedSection).to.include('data-srm="mismatch"');
  });

  it('requires the admin role for every stats view', async () => {
    const viewer = await h.token();
    for (const path of [
      '/api/v1/experiments/stats',
      '/api/v1/experiments/stats.csv',
      '/pages/experiment-stats',
    ]) {
      expect((await request(`${h.url}${path}`)).status, path).to.equal(401);
      expect((await request(`${h.url}${path}`, { token: viewer })).status, path).to.equal(403);
      // The cookie holds a signed session, never a JWT: not even an admin's JWT opens a view.
      for (const planted of [viewer, await adminToken(h)]) {
        const cookie = await fetch(`${h.url}${path}`, {
          headers: { Cookie: `${h.config.admin.cookie}=${planted}` },
        });
        expect(cookie.status, path).to.equal(401);
      }
    }
  });
  it('signs an admin in on the form, and the session opens the stats views only', async () => {
    const signIn = async (token: string, headers: Record<string, string> = {}) =>
      (
        await fetch(`${h.url}/pages/experiment-stats/session`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
          body: new URLSearchParams({ token }).toString(),
        })
      ).status;
    expect(await signIn(await h.token())).to.equal(403);
    expect(await signIn('not-a-token')).to.equal(401);
    expect(await signIn(await adminToken(h), { Origin: 'https://elsewhere.example' })).to.equal(403);
    // A form in another charset, or with two tokens, signs nobody in.
    const admin = await adminToken(h);
    expect(
      await signIn(admin, { 'Content-Type': 'application/x-www-form-urlencoded; charset=ISO-8859-1' }),
    ).to.equal(415);
    const twice = await fetch(`${h.url}/pages/experiment-stats/session`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `token=${admin}&token=${await h.token()}`,
    });
    expect(twice.status).to.equal(400);
    expect(twice.headers.get('set-cookie')).to.equal(null);
    const form = 'application/x-www-form-urlencoded';
    const doubled = await rawRequest(h.url, {
      method: 'POST',
      path: '/pages/experiment-stats/session',
      headers: { 'Content-Type': [form, form] },
      body: Buffer.from(new URLSearchParams({ token: admin }).toString()),
    });
    expect(doubled.status, doubled.body).to.equal(400);
    expect(JSON.parse(doubled.body).error.code).to.equal('duplicate_header');
    expect(
      await signIn(admin, { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' }),
    ).to.equal(303);
    const cookie = await statsSession(h);
    for (const path of [
      '/api/v1/experiments/stats',
      '/api/v1/experiments/stats.csv',
      '/pages/experiment-stats',
    ]) {
      expect((await fetch(`${h.url}${path}`, { headers: { Cookie: cookie } })).status, path).to.equal(200);
    }
    const write = await fetch(`${h.url}/api/v1/admin/experiments/price/stop`, {
      method: 'POST',
      headers: { Cookie: cookie },
    });
    expect(write.status).to.equal(401);
  });
});
