/**
 * npm run bench [-- --quick] [-- --out DIR]: every figure of the stress-testing issue in one
 * run on this machine, with a real broker and the real ClickHouse engine, each next to the
 * limit of its own parts measured in the same run. Writes results/<date>.json and RESULTS.md
 * (results.ts). --quick: tiny volumes, for the CI smoke test (figures, never timings, are
 * asserted there).
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBenchRun } from './context.js';
import { sampleMessage } from './prefill.js';
import { ROOT } from './proc.js';
import { writeResults } from './results.js';
import { apiIngest } from './scenarios/api-ingest.js';
import { engineInsertLimit } from './scenarios/engine-limit.js';
import { etlDrain } from './scenarios/etl-drain.js';
import { freshness } from './scenarios/freshness.js';
import { kafkaLimit } from './scenarios/kafka-limit.js';
import { readPath } from './scenarios/read-path.js';

function version(pkg: string): string {
  return (
    JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }
  ).version;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } },
  });
  const quick = values.quick;
  const outDir = values.out ?? join(ROOT, 'stress-testing');
  const { ctx, stop } = await startBenchRun('all', quick);
  const log = (msg: string) => ctx.log(msg);
  try {
    log('1-2. API ingest (single, batch)');
    const api = await apiIngest(ctx);
    const messageBytes = Buffer.byteLength(JSON.stringify(sampleMessage()));
    log(`3. Kafka ProducerPerformance, ${messageBytes}-byte records, acks=all`);
    const limit = await kafkaLimit(ctx, messageBytes);
    log(`  limit: ${limit.recordsPerSec} records/s`);
    log('4. ETL drain');
    const etl = await etlDrain(ctx);
    log('5. engine insert limit (JSONEachRow, 100k-row blocks)');
    const engine = engineInsertLimit(ctx, etl.rows);
    const engineRowsPerSec = engine.rowsPerSec;
    log(`  engine: ${engineRowsPerSec} rows/s`);
    log('6. freshness at half the highest sustained API rate');
    const fresh = await freshness(ctx, Math.max(1, Math.round(api.single.best.eventsPerSec / 2)));
    log('7. read path');
    const read = await readPath(ctx);

    const ratios = {
      apiSingleToKafkaLimit: round(api.single.best.eventsPerSec / limit.recordsPerSec),
      apiBatch500ToKafkaLimit: round((api.batch['500']?.eventsPerSec ?? 0) / limit.recordsPerSec),
      etlToEngineInsert: round(etl.rowsPerSec / engineRowsPerSec),
      etlToBareConsume: round(etl.rowsPerSec / etl.bareConsumePerSec),
    };
    const b500 = api.batch['500']!;
    const results = {
      date: new Date().toISOString(),
      quick,
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        kernel: execSync('uname -r').toString().trim(),
        loadGeneratorOnSameCores: true,
      },
      versions: {
        node: process.version,
        kafka: '4.3.1',
        kafkajs: version('kafkajs'),
        chdb: version('chdb'),
        clickhouseEngine: version('@chdb/lib-linux-x64-gnu'),
        koa: version('koa'),
      },
      figures: {
        apiSingle: api.single,
        apiBatch: api.batch,
        kafkaProducerPerformance: limit,
        etl: {
          rows: etl.rows,
          rowsPerSec: etl.rowsPerSec,
          drainSeconds: round(etl.drainSeconds),
          bareConsumePerSec: etl.bareConsumePerSec,
          cpuSeconds: etl.etlCpuSeconds,
          cpuMsPer1kRows: etl.etlCpuMsPer1kRows,
          machineBusy: etl.machineBusy,
        },
        engineInsert: { rows: etl.rows, rowsPerSec: engineRowsPerSec, cpuMsPer1kRows: engine.cpuMsPer1kRows },
        freshness: fresh,
        readPath: read,
        memory: { apiPeakRssMiB: Math.round(api.peakRssMiB), etlPeakRssMiB: Math.round(etl.peakRssMiB) },
      },
      ratios,
      targets: [
        target(
          'API single events/s at p99 ≤ 50 ms',
          '≥ 10,000',
          api.single.best.eventsPerSec,
          api.single.best.eventsPerSec >= 10_000 && api.single.best.p99Ms <= 50,
          `p99 ${api.single.best.p99Ms} ms`,
        ),
        target('API batch events/s', '≥ 100,000', b500.eventsPerSec, b500.eventsPerSec >= 100_000),
        target('ETL rows/s per process', '≥ 150,000', etl.rowsPerSec, etl.rowsPerSec >= 150_000),
        target(
          'ETL ÷ engine insert rate',
          '≥ 0.4',
          ratios.etlToEngineInsert,
          ratios.etlToEngineInsert >= 0.4,
        ),
        target('Freshness p99', '≤ 2,000 ms', fresh.p99Ms, fresh.p99Ms <= 2000),
        target(
          `Resume lookup p99 at ${read.tableRows.toLocaleString('en')} rows (${read.load.rate} req/s, half the saturated rate)`,
          '≤ 20 ms',
          read.load.p99Ms,
          read.load.p99Ms <= 20,
        ),
      ],
    };
    writeResults(outDir, 'bench', results);
    log(`done: results in ${outDir}/results/ (${quick ? 'quick' : 'full'} run)`);
    process.stdout.write(
      `${JSON.stringify({ figures: results.figures, ratios, targets: results.targets }, null, 2)}\n`,
    );
  } finally {
    await stop();
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function target(name: string, goal: string, value: number, met: boolean, note = '') {
  return {
    name,
    target: goal,
    measured: `${value.toLocaleString('en')}${note === '' ? '' : ` (${note})`}`,
    met,
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
