/**
 * npm run bench:experiments [-- --quick]: the device assignment endpoint
 * (GET /api/v1/experiments) at a fixed 2,000 requests/s, the rate the apps' startup path
 * needs, against the real app (PostgreSQL, Kafka for exposures, embedded ClickHouse).
 * Three traffic shapes, each at the same fixed rate:
 *   returning — devices already assigned (one indexed query per request)
 *   new       — every request a device never seen (register + assign: three queries)
 *   mixed     — 80% returning, 20% new, half with a viewer token (JWT verify + exposures with viewer)
 * Writes results/experiments-<date>.json, results/experiments-latest.json and EXPERIMENTS.md.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { signHs256 } from '../../lib/auth/sign-token.js';
import { LocalKafka } from '../../lib/runtime/local-kafka.js';
import { findFreePort, findFreePortBlock } from '../../lib/runtime/ports.js';
import { baseEnv, logFile, type BenchContext } from './context.js';
import { runLoad, type LoadResult } from './load.js';
import { ROOT, startTs, waitHttp } from './proc.js';

const TARGET_RPS = 2000;
const TARGET_P99_MS = 10;

interface Phase {
  name: 'returning' | 'new' | 'mixed';
  load: LoadResult;
  met: boolean;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } },
  });
  const quick = values.quick;
  const outDir = values.out ?? join(ROOT, 'stress-testing');
  const rate = quick ? 200 : TARGET_RPS;
  const durationSec = quick ? 2 : 30;
  const workDir = mkdtempSync(join(tmpdir(), 'sa-bench-exp-'));
  const started = Date.now();
  const log = (msg: string) =>
    process.stderr.write(`[bench:experiments +${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
  const kafka = new LocalKafka({
    dir: join(workDir, 'kafka'),
    nodes: 1,
    basePort: await findFreePortBlock(1),
    heap: '1g',
  });
  process.on('exit', () => kafka.killAllSync());
  await kafka.start();
  const ctx: BenchContext = {
    quick,
    workDir,
    brokers: kafka.brokers,
    secret: `bench-${Date.now()}-secret-0123456789abcdef`,
    log,
  };
  const database = `sa_bench_exp_${Date.now()}`;
  const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const postgresUrl = `${server}/${database}`;
  const port = await findFreePort();
  const api = startTs(
    'stress-testing/src/api-target.ts',
    baseEnv(ctx, {
      PORT: String(port),
      CLICKHOUSE_DATA_DIR: join(workDir, 'chdb'),
      POSTGRES_URL: postgresUrl,
    }),
    logFile(ctx, 'api-experiments'),
  );
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitHttp(`${url}/readyz`);
    const viewerTokens = await Promise.all(
      Array.from({ length: 200 }, () => signHs256(ctx.secret, { sub: randomUUID(), ttlSec: 3600 })),
    );

    // Returning devices: registered and assigned beforehand, as fast as the API takes them.
    const known = Array.from({ length: quick ? 500 : 20_000 }, () => `bench-${randomUUID()}`);
    let k = 0;
    log(`registering ${known.length} devices`);
    const warm = await runLoad({
      url,
      connections: 16,
      durationSec: quick ? 2 : 15,
      eventsPerRequest: 1,
      request: () => ({
        method: 'GET',
        path: '/api/v1/experiments',
        headers: { 'device-token': known[k++ % known.length]! },
      }),
    });
    log(`  warm-up: ${warm.requestsPerSec} req/s p99 ${warm.p99Ms} ms`);

    const phases: Phase[] = [];
    const pick = () => known[Math.floor(Math.random() * known.length)]!;
    const shapes: Array<[Phase['name'], () => { headers: Record<string, string>; token?: string }]> = [
      ['returning', () => ({ headers: { 'device-token': pick() } })],
      ['new', () => ({ headers: { 'device-token': `bench-${randomUUID()}` } })],
      [
        'mixed',
        () => ({
          headers: { 'device-token': Math.random() < 0.8 ? pick() : `bench-${randomUUID()}` },
          ...(Math.random() < 0.5
            ? { token: viewerTokens[Math.floor(Math.random() * viewerTokens.length)]! }
            : {}),
        }),
      ],
    ];
    for (const [name, shape] of shapes) {
      log(`${name}: ${rate} req/s for ${durationSec} s`);
      const load = await runLoad({
        url,
        connections: 32,
        durationSec,
        overallRate: rate,
        eventsPerRequest: 1,
        request: () => ({ method: 'GET', path: '/api/v1/experiments', ...shape() }),
      });
      const met =
        load.requestsPerSec >= rate * 0.98 &&
        load.p99Ms <= TARGET_P99_MS &&
        load.non2xx === 0 &&
        load.errors === 0;
      log(
        `  ${load.requestsPerSec} req/s p50 ${load.p50Ms} ms p99 ${load.p99Ms} ms max ${load.maxMs} ms non2xx ${load.non2xx} errors ${load.errors}`,
      );
      phases.push({ name, load, met });
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
    mkdirSync(join(outDir, 'results'), { recursive: true });
    const json = `${JSON.stringify(results, null, 2)}\n`;
    writeFileSync(join(outDir, 'results', `experiments-${results.date.slice(0, 10)}.json`), json);
    writeFileSync(join(outDir, 'results', 'experiments-latest.json'), json);
    writeFileSync(join(outDir, 'EXPERIMENTS.md'), markdown(results));
    process.stdout.write(json);
  } finally {
    await api.stop();
    await kafka.stop();
    const admin = new pg.Client({ connectionString: `${server}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
    await admin.end();
    if (process.env.KEEP_BENCH_DATA === undefined) rmSync(workDir, { recursive: true, force: true });
  }
}

function markdown(r: {
  date: string;
  quick: boolean;
  rateRps: number;
  durationSec: number;
  database: { devices: number; assignments: number };
  apiPeakRssMiB: number;
  phases: Phase[];
}): string {
  const rows = r.phases.map(
    (p) =>
      `| ${p.name} | ${p.load.requestsPerSec.toLocaleString('en')} | ${p.load.p50Ms} | **${p.load.p99Ms}** | ${p.load.maxMs} | ${p.load.non2xx + p.load.errors} | ${p.met ? 'met' : 'not met'} |`,
  );
  return `# Experiments benchmark (generated by \`npm run bench:experiments\`)

Run ${r.date}${r.quick ? ' (**quick smoke run: not a measurement**)' : ''}: \`GET /api/v1/experiments\` at a fixed
${r.rateRps.toLocaleString('en')} requests/s for ${r.durationSec} s per shape, against the real API process
(PostgreSQL on this machine, exposures to a real Kafka broker), load generator (autocannon, 32 connections)
on the same 2 cores. Target: p99 ≤ ${TARGET_P99_MS} ms at ${TARGET_RPS.toLocaleString('en')} requests/s.

| Traffic | achieved req/s | p50 ms | p99 ms | max ms | errors | target |
| --- | ---: | ---: | ---: | ---: | ---: | --- |
${rows.join('\n')}

- **returning**: devices already assigned (the common case at app start): one indexed query.
- **new**: a device never seen: register it, assign the running experiments (two inserts).
- **mixed**: 80% returning, 20% new; half the requests carry a viewer token (JWT verified, recorded on the exposures).

Database after the run: ${r.database.devices.toLocaleString('en')} devices, ${r.database.assignments.toLocaleString('en')} assignments.
API peak RSS ${r.apiPeakRssMiB} MiB (it embeds the ClickHouse engine in this harness).
`;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
