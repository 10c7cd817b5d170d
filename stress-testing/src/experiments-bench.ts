/**
 * npm run bench:experiments [-- --quick]: the device assignment endpoint
 * (GET /api/v1/experiments) at a fixed 2,000 requests/s, the rate the apps' startup path
 * needs, against the real app (PostgreSQL, Kafka for exposures, embedded ClickHouse).
 * Traffic shapes (see the notes written under the tables):
 *   returning (cached)     — devices this process served before: no query
 *   returning (not cached) — devices assigned earlier, each asked for once: one lookup
 *   mixed                  — 70% cached, 20% not cached, 10% new, half with a viewer token
 *   new devices            — every request a device never seen (lookup, then registration)
 * Writes results/experiments-<date>.json and EXPERIMENTS.md (results.ts).
 */
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { signHs256 } from '../../lib/auth/sign-token.js';
import { startApiBench } from './api-bench-env.js';
import { bucketOf, pickOption } from '../../api/src/experiments/bucketing.js';
import { sleep } from '../../lib/retry.js';
import { runOpenLoop } from './open-loop.js';
import { ROOT } from './proc.js';
import { writeResults } from './results.js';
import { describeWindow, measureRepeated, type RepeatedWindows } from './window.js';

const TARGET_RPS = 2000;
const TARGET_P99_MS = 10;
const TARGET = { rps: TARGET_RPS, p99Ms: TARGET_P99_MS };

/** New-device registration at rising rates: where its capacity ends on this machine. */
const NEW_DEVICE_RATES = [250, 500, 1000, 2000];

const ROUTE = '/api/v1/experiments';

interface Phase extends RepeatedWindows {
  name: 'returning (cached)' | 'returning (not cached)' | 'mixed' | 'new devices';
  rate: number;
}

/** Devices registered and assigned straight in the database, as the API would have. */
async function seedColdDevices(postgresUrl: string, count: number): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 1 });
  try {
    const experiments = (
      await pool.query<{ id: string; seed: string; weights: number[] }>(
        `SELECT e.id, e.seed, array_agg(o.weight ORDER BY o.position) AS weights
           FROM experiments e JOIN experiment_options o ON o.experiment_id = e.id
          WHERE e.status = 'running' GROUP BY e.id, e.seed`,
      )
    ).rows;
    const devices = Array.from({ length: count }, () => `bench-cold-${randomUUID()}`);
    await pool.query('INSERT INTO devices (token) SELECT unnest($1::text[])', [devices]);
    for (const e of experiments) {
      await pool.query(
        `INSERT INTO assignments (device_token, experiment_id, option_position)
         SELECT unnest($1::text[]), $2, unnest($3::smallint[])`,
        [devices, e.id, devices.map((d) => pickOption(e.weights, bucketOf(e.seed, d)))],
      );
    }
    // As autovacuum would after a bulk insert, but before the measurement rather than during it.
    await pool.query('VACUUM ANALYZE devices, assignments');
    return devices;
  } finally {
    await pool.end();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } },
  });
  const quick = values.quick;
  const outDir = values.out ?? join(ROOT, 'stress-testing');
  const rate = quick ? 200 : TARGET_RPS;
  const durationSec = quick ? 2 : 10;
  const repeats = quick ? 1 : 3;
  const { ctx, url, control, postgresUrl, api, log, stop } = await startApiBench('experiments', quick);
  const phases: Phase[] = [];
  try {
    const viewerTokens = await Promise.all(
      Array.from({ length: 200 }, () => signHs256(ctx.secret, { sub: randomUUID(), ttlSec: 3600 })),
    );
    const deviceCount = quick ? 500 : 20_000;
    // Cached: served once by this API process (in its device cache).
    const cached = Array.from({ length: deviceCount }, () => `bench-${randomUUID()}`);
    log(`serving ${cached.length} devices once (they land in the API's device cache)`);
    let k = 0;
    // Paced below the new-device capacity, so no backlog spills into the measured phases.
    const warmRate = quick ? 500 : 800;
    const warm = await runOpenLoop({
      url,
      rate: warmRate,
      durationSec: cached.length / warmRate,
      maxConnections: 64,
      request: () => ({
        path: '/api/v1/experiments',
        headers: { 'device-token': cached[k++ % cached.length]! },
      }),
    });
    log(`  warm-up: ${warm.achievedPerSec} req/s p99 ${warm.p99Ms} ms`);
    // Cold: known to the database (assigned as the API would, by another replica or before a
    // restart) but never served by this process: one query each.
    // Each served at most once (the first serve puts it in the cache): as many as the
    // not-cached phase and the mixed phase's 20% can ask for, with a margin.
    const coldCount = Math.ceil(rate * durationSec * repeats * 1.3) + 1000;
    const cold = await seedColdDevices(postgresUrl, coldCount);
    let coldNext = 0;
    const nextCold = () => {
      if (coldNext === cold.length) throw new Error('ran out of not-cached devices');
      return cold[coldNext++]!;
    };

    const pick = (list: string[]) => list[Math.floor(Math.random() * list.length)]!;
    const viewer = () => (Math.random() < 0.5 ? { token: pick(viewerTokens) } : {});
    const fresh = () => `bench-${randomUUID()}`;
    const shapes: Array<[Phase['name'], number, () => { device: string; token?: string }]> = [
      ['returning (cached)', rate, () => ({ device: pick(cached) })],
      ['returning (not cached)', rate, () => ({ device: nextCold() })],
      [
        'mixed',
        rate,
        () => {
          const r = Math.random();
          return { device: r < 0.7 ? pick(cached) : r < 0.9 ? nextCold() : fresh(), ...viewer() };
        },
      ],
      ...NEW_DEVICE_RATES.map(
        (r) =>
          ['new devices', quick ? r / 10 : r, () => ({ device: fresh() })] as [
            Phase['name'],
            number,
            () => { device: string },
          ],
      ),
    ];
    for (const [name, phaseRate, shape] of shapes) {
      // Each phase starts from a settled system (exposure batches flushed, autovacuum done).
      await sleep(quick ? 200 : 5000);
      // Phases at the target rate are judged over several windows; the rising new-device
      // rates only show where that path's capacity ends, one window each.
      const windows = phaseRate >= TARGET_RPS ? repeats : 1;
      log(`${name}: ${phaseRate} req/s, ${windows} window(s) of ${durationSec} s`);
      const measured = await measureRepeated(
        url,
        ROUTE,
        {
          url,
          rate: phaseRate,
          durationSec,
          maxConnections: 128,
          request: () => {
            const r = shape();
            return {
              path: ROUTE,
              headers: {
                'device-token': r.device,
                ...(r.token === undefined ? {} : { authorization: `Bearer ${r.token}` }),
              },
            };
          },
        },
        { repeats: windows, pauseMs: quick ? 200 : 3000, target: TARGET, control },
      );
      for (const w of measured.windows) log(`  ${describeWindow(w)}`);
      phases.push({ name, rate: phaseRate, ...measured });
    }
    const pool = new pg.Pool({ connectionString: postgresUrl, max: 1 });
    const counts = (
      await pool.query<{ devices: string; assignments: string }>(
        'SELECT (SELECT count(*) FROM devices) AS devices, (SELECT count(*) FROM assignments) AS assignments',
      )
    ).rows[0]!;
    await pool.end();
    const results = {
      date: new Date().toISOString(),
      quick,
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadGeneratorOnSameCores: true },
      rateRps: rate,
      durationSec,
      target: { rps: TARGET_RPS, p99Ms: TARGET_P99_MS },
      database: { devices: Number(counts.devices), assignments: Number(counts.assignments) },
      apiPeakRssMiB: Math.round(api.peakRssMiB()),
      phases,
    };
    writeResults(outDir, 'experiments', results);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
