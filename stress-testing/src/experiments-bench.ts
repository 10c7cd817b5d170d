/**
 * npm run bench:experiments [-- --quick]: GET /api/v1/experiments at a fixed 2,000 requests/s
 * (the apps' startup path) against the real API, PostgreSQL and broker, by traffic shape (the
 * page, results.ts, describes them). Writes results/experiments-<date>.json and EXPERIMENTS.md.
 */
import { randomUUID } from 'node:crypto';
import { bucketOf, pickOption } from '../../api/src/experiments/bucketing.js';
import { signHs256 } from '../../lib/auth/sign-token.js';
import { sleep } from '../../lib/retry.js';
import { readBenchArgs, startApiBench, withDb } from './api-bench-env.js';
import { runOpenLoop } from './open-loop.js';
import { writeResults } from './results.js';
import { describeWindow, measureRepeated, type RepeatedWindows } from './window.js';

/** New-device registration at rising rates: where its capacity ends on this machine. */
const NEW_DEVICE_RATES = [250, 500, 1000, 2000];
const ROUTE = '/api/v1/experiments';

/** Devices registered and assigned straight in the database, as the API would have. */
async function seedColdDevices(postgresUrl: string, count: number): Promise<string[]> {
  return withDb(postgresUrl, async (db) => {
    const experiments = await db.query<{ id: string; seed: string; weights: number[] }>(
      `SELECT e.id, e.seed, array_agg(o.weight ORDER BY o.position) AS weights
         FROM experiments e JOIN experiment_options o ON o.experiment_id = e.id
        WHERE e.status = 'running' GROUP BY e.id, e.seed`,
    );
    const devices = Array.from({ length: count }, () => `bench-cold-${randomUUID()}`);
    await db.query('INSERT INTO devices (token) SELECT unnest($1::text[])', [devices]);
    for (const e of experiments.rows) {
      await db.query(
        `INSERT INTO assignments (device_token, experiment_id, option_position)
         SELECT unnest($1::text[]), $2, unnest($3::smallint[])`,
        [devices, e.id, devices.map((d) => pickOption(e.weights, bucketOf(e.seed, d)))],
      );
    }
    // As autovacuum would after a bulk insert, but before the measurement rather than during it.
    await db.query('VACUUM ANALYZE devices, assignments');
    return devices;
  });
}

const args = readBenchArgs();
const { quick, rate, durationSec, repeats, target } = args;
const { ctx, url, control, postgresUrl, api, stop } = await startApiBench('experiments', quick);
try {
  const sign = () => signHs256(ctx.secret, { sub: randomUUID(), ttlSec: 3600 });
  const viewerTokens = await Promise.all(Array.from({ length: 200 }, sign));
  // Cached: served once by this API process (so in its device cache), paced below the
  // new-device capacity so no backlog spills into the measured phases.
  const cached = Array.from({ length: quick ? 500 : 20_000 }, () => `bench-${randomUUID()}`);
  ctx.log(`serving ${cached.length} devices once (they land in the API's device cache)`);
  let k = 0;
  const warmRate = quick ? 500 : 800;
  const warm = await runOpenLoop({
    ...{ url, rate: warmRate, durationSec: cached.length / warmRate, maxConnections: 64 },
    request: () => ({ path: ROUTE, headers: { 'device-token': cached[k++ % cached.length]! } }),
  });
  ctx.log(`  warm-up: ${warm.achievedPerSec} req/s p99 ${warm.p99Ms} ms`);
  // Not cached: assigned in the database (by another replica, or before a restart), never
  // served by this process; each asked for once, as many as the phases can ask for.
  const cold = await seedColdDevices(postgresUrl, Math.ceil(rate * durationSec * repeats * 1.3) + 1000);
  let coldNext = 0;
  const nextCold = () => {
    if (coldNext === cold.length) throw new Error('ran out of not-cached devices');
    return cold[coldNext++]!;
  };
  const pick = (list: string[]) => list[Math.floor(Math.random() * list.length)]!;
  const fresh = () => `bench-${randomUUID()}`;
  const mixed = () => {
    const r = Math.random();
    const device = r < 0.7 ? pick(cached) : r < 0.9 ? nextCold() : fresh();
    return { device, ...(Math.random() < 0.5 ? { token: pick(viewerTokens) } : {}) };
  };
  type Shape = [string, number, () => { device: string; token?: string }];
  const shapes: Shape[] = [
    ['returning (cached)', rate, () => ({ device: pick(cached) })],
    ['returning (not cached)', rate, () => ({ device: nextCold() })],
    ['mixed', rate, mixed],
    ...NEW_DEVICE_RATES.map((r): Shape => ['new devices', quick ? r / 10 : r, () => ({ device: fresh() })]),
  ];
  const phases: Array<RepeatedWindows & { name: string; rate: number }> = [];
  for (const [name, phaseRate, shape] of shapes) {
    // Each phase starts from a settled system (exposure batches flushed, autovacuum done).
    await sleep(quick ? 200 : 5000);
    // Phases at the target rate are judged over several windows; the rising new-device rates
    // only show where that path's capacity ends, one window each.
    const windows = phaseRate >= target.rps ? repeats : 1;
    ctx.log(`${name}: ${phaseRate} req/s, ${windows} window(s) of ${durationSec} s`);
    const request = () => {
      const r = shape();
      const headers: Record<string, string> = { 'device-token': r.device };
      if (r.token !== undefined) headers.authorization = `Bearer ${r.token}`;
      return { path: ROUTE, headers };
    };
    const spec = { url, rate: phaseRate, durationSec, maxConnections: 128, request };
    const measured = await measureRepeated(url, ROUTE, spec, { ...args, repeats: windows, control });
    for (const w of measured.windows) ctx.log(`  ${describeWindow(w)}`);
    phases.push({ name, rate: phaseRate, ...measured });
  }
  const counts = await withDb(postgresUrl, async (db) => {
    const sql =
      'SELECT (SELECT count(*) FROM devices) AS devices, (SELECT count(*) FROM assignments) AS assignments';
    return (await db.query<{ devices: string; assignments: string }>(sql)).rows[0]!;
  });
  const results = {
    date: new Date().toISOString(),
    quick,
    machine: args.machine,
    ...{ rateRps: rate, durationSec, target },
    database: { devices: Number(counts.devices), assignments: Number(counts.assignments) },
    apiPeakRssMiB: Math.round(api.peakRssMiB()),
    phases,
  };
  writeResults(args.outDir, 'experiments', results);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} finally {
  await stop();
}
