/**
 * npm run bench [-- --quick] [-- --out DIR]: every figure of the stress-testing issue in one
 * run on this machine, with a real broker and the real ClickHouse engine, each next to the
 * limit of its own parts measured in the same run. Writes results/<date>.json and RESULTS.md
 * (results.ts). --quick: tiny volumes, for the CI smoke test (figures, never timings, are
 * asserted there).
 */
import { release } from 'node:os';
import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchArgs, startBenchRun } from './context.js';
import { sampleMessage } from './prefill.js';
import { cpuMsPer1k, ROOT, runTsJson, type ThreadCpu } from './proc.js';
import { writeResults } from './results.js';
import { analystIsolation } from './scenarios/analyst-isolation.js';
import { apiIngest } from './scenarios/api-ingest.js';
import { etlDrain, threadsText } from './scenarios/etl-drain.js';
import { freshness } from './scenarios/freshness.js';
import { kafkaLimit } from './scenarios/kafka-limit.js';
import { readPath, type ReadLoad } from './scenarios/read-path.js';

const version = (pkg: string) =>
  (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string })
    .version;
const round = (n: number) => Math.round(n * 1000) / 1000;
/** A target line: met when `value` is on the goal's side of its bound (and `also` holds). */
const target = (name: string, goal: string, value: number, also = true, note = '') => {
  const bound = Number(goal.replace(/[^\d.]/g, ''));
  const met = also && (goal.startsWith('≥') ? value >= bound : value <= bound);
  return {
    name,
    target: goal,
    measured: `${value.toLocaleString('en')}${note === '' ? '' : ` (${note})`}`,
    met,
  };
};

const { quick, outDir } = benchArgs();
const { ctx, stop } = await startBenchRun('all', quick);
try {
  ctx.log('1-2. API ingest (single, batch)');
  const api = await apiIngest(ctx);
  const messageBytes = Buffer.byteLength(JSON.stringify(sampleMessage()));
  ctx.log(`3. Kafka ProducerPerformance, ${messageBytes}-byte records, acks=all`);
  const limit = await kafkaLimit(ctx, messageBytes);
  ctx.log(`  limit: ${limit.recordsPerSec} records/s`);
  ctx.log("3b. the API's producer alone, 500 messages a call, 16 calls in flight");
  const producerRun = runTsJson<{ messages: number; seconds: number; cpuSeconds: number }>(
    'stress-testing/src/producer-limit.ts',
    [ctx.brokers.join(','), `bench-producer-${Date.now()}`, String(quick ? 20_000 : 1_000_000)],
  );
  const producer = {
    messagesPerSec: Math.round(producerRun.messages / producerRun.seconds),
    cpuMsPer1kMessages: cpuMsPer1k(producerRun.cpuSeconds, producerRun.messages),
  };
  ctx.log(
    `  producer alone: ${producer.messagesPerSec} messages/s, ${producer.cpuMsPer1kMessages} ms per 1k`,
  );
  ctx.log('4. ETL drain');
  const etl = await etlDrain(ctx);
  ctx.log('5. engine insert limit (JSONEachRow, 100k-row blocks)');
  // The same rows straight into a fresh engine, in a process of its own (chdb binds one data
  // directory per process).
  const insert = runTsJson<{ rows: number; seconds: number; cpuSeconds: number; byThread: ThreadCpu }>(
    'stress-testing/src/engine-insert-limit.ts',
    [join(ctx.workDir, 'chdb-limit'), String(etl.rows)],
  );
  const engine = {
    rowsPerSec: Math.round(insert.rows / insert.seconds),
    cpuMsPer1kRows: cpuMsPer1k(insert.cpuSeconds, insert.rows),
    cpuMsPer1kRowsByThread: insert.byThread,
  };
  ctx.log(
    `  engine: ${engine.rowsPerSec} rows/s, CPU ${engine.cpuMsPer1kRows} ms per 1k rows (${threadsText(insert.byThread)})`,
  );
  ctx.log('6. freshness at half the highest sustained API rate');
  const fresh = await freshness(ctx, Math.max(1, Math.round(api.single.best.eventsPerSec / 2)));
  ctx.log('7. read path');
  const read = await readPath(ctx);
  ctx.log('8. ingestion while an analyst runs a GROUP BY over every event');
  const analyst = await analystIsolation(ctx);

  const best = api.single.best;
  const b500 = api.batch['500']!;
  const ratios = {
    apiSingleToKafkaLimit: round(best.eventsPerSec / limit.recordsPerSec),
    // Host-independent reading of the API's CPU per event: against bare node:http's per request.
    apiSingleCpuToControl: round((best.cpuMsPer1kEvents ?? Number.NaN) / api.single.control.cpuUsPerRequest),
    apiBatch500ToKafkaLimit: round(b500.eventsPerSec / limit.recordsPerSec),
    apiBatch500ToProducerAlone: round(b500.eventsPerSec / producer.messagesPerSec),
    producerAloneToKafkaLimit: round(producer.messagesPerSec / limit.recordsPerSec),
    etlToEngineInsert: round(etl.rowsPerSec / engine.rowsPerSec),
    // What issue 37's two rate targets would take at the CPU per event measured here: the
    // API's one JavaScript thread, in cores, at 0.8 of Kafka's rate; the ETL's cores at 0.8
    // of the engine's. Above 1 (a thread) or the machine's cores, the target is out of reach
    // until the CPU per event falls.
    apiBatch500JsThreadAtTarget: round(
      ((b500.jsThreadBusy ?? Number.NaN) * 0.8 * limit.recordsPerSec) / b500.eventsPerSec,
    ),
    etlCoresAtTarget: round((0.8 * engine.rowsPerSec * etl.cpuMsPer1kRows) / 1e6),
    etlToBareConsume: round(etl.rowsPerSec / etl.bareConsumePerSec),
    ingestP99WithAnalystToWithout: round(analyst.withAnalyst.ingest.p99Ms / analyst.without.ingest.p99Ms),
    freshnessP99WithAnalystToWithout: round(
      analyst.withAnalyst.freshness.p99Ms / analyst.without.freshness.p99Ms,
    ),
  };
  const { peakRssMiB: etlPeakRssMiB, resumeProjection, ...etlFigures } = etl;
  // The ETL's two floors side by side: the engine's insert and kafkajs' bare consume.
  const etlFloorMsPer1k = round(engine.cpuMsPer1kRows + etl.bareConsumeCpuMsPer1k);
  const memoryGiB = Math.round(totalmem() / 2 ** 30);
  const results = {
    date: new Date().toISOString(),
    quick,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB, kernel: release() },
    versions: {
      ...{ node: process.version, kafka: '4.3.1', kafkajs: version('kafkajs'), chdb: version('chdb') },
      ...{ clickhouseEngine: version('@chdb/lib-linux-x64-gnu'), koa: version('koa') },
    },
    figures: {
      apiSingle: api.single,
      apiBatch: api.batch,
      kafkaProducerPerformance: limit,
      apiProducerAlone: producer,
      etl: { ...etlFigures, drainSeconds: round(etl.drainSeconds) },
      engineInsert: { rows: etl.rows, ...engine },
      etlFloorMsPer1kRows: etlFloorMsPer1k,
      resumeProjection,
      freshness: fresh,
      readPath: read,
      analystIsolation: analyst,
      memory: { apiPeakRssMiB: Math.round(api.peakRssMiB), etlPeakRssMiB: Math.round(etlPeakRssMiB) },
    },
    ratios,
    targets: [
      target(
        'API single events/s at p99 ≤ 50 ms',
        '≥ 10,000',
        best.eventsPerSec,
        best.p99Ms <= 50,
        `p99 ${best.p99Ms} ms`,
      ),
      target('API batch events/s', '≥ 100,000', b500.eventsPerSec),
      target('ETL rows/s per process', '≥ 150,000', etl.rowsPerSec),
      target('ETL ÷ engine insert rate', '≥ 0.4', ratios.etlToEngineInsert),
      target('Freshness p99', '≤ 2,000 ms', fresh.p99Ms),
      // Issue 37: CPU per event, each beside the floor of its own parts in this run.
      target(
        'API CPU per accepted single event (µs), at the best rate within p99 ≤ 50 ms',
        '≤ 60',
        best.cpuMsPer1kEvents ?? Number.NaN,
        true,
        `bare node:http on this host: ${api.single.control.cpuUsPerRequest} µs per request`,
      ),
      target(
        'API batches of 500 ÷ Kafka ProducerPerformance',
        '≥ 0.8',
        ratios.apiBatch500ToKafkaLimit,
        true,
        `the API's producer alone reaches ${ratios.producerAloneToKafkaLimit} of it, at ` +
          `${producer.cpuMsPer1kMessages} µs per message; the API's JavaScript thread ` +
          `${Math.round((b500.jsThreadBusy ?? Number.NaN) * 100)}% busy at ${b500.cpuMsPer1kEvents} µs per event, ` +
          `so ${ratios.apiBatch500JsThreadAtTarget} of a core at 0.8`,
      ),
      target(
        'ETL ÷ engine insert rate (issue 37)',
        '≥ 0.8',
        ratios.etlToEngineInsert,
        true,
        `machine ${Math.round(etl.machineBusy * 100)}% busy; at its CPU per row, 0.8 would take ` +
          `${ratios.etlCoresAtTarget} of ${cpus().length} cores`,
      ),
      target(
        'ETL CPU per 1,000 rows (ms), engine included',
        '≤ 9',
        etl.cpuMsPer1kRows,
        true,
        `floor: engine ${engine.cpuMsPer1kRows} + kafkajs bare consume ${etl.bareConsumeCpuMsPer1k} = ${etlFloorMsPer1k}; ` +
          `ETL by thread: ${threadsText(etl.cpuMsPer1kRowsByThread)}; engine alone: ${threadsText(insert.byThread)}`,
      ),
      target('ETL peak RSS (MiB), 1,000,000-row drain', '≤ 786', Math.round(etlPeakRssMiB)),
      ...(
        [
          ['Resume lookups/s', read],
          ['Continue-watching lists/s', read.list],
        ] as [string, ReadLoad][]
      ).map(([name, r]) =>
        target(
          `${name} at ${read.tableRows.toLocaleString('en')} rows, saturated; p99 ≤ 10 ms at half that rate`,
          '≥ 2,000',
          r.saturated.requestsPerSec,
          r.load.p99Ms <= 10,
          `p99 ${r.load.p99Ms} ms at ${r.load.rate}/s`,
        ),
      ),
    ],
  };
  writeResults(outDir, 'bench', results);
  ctx.log(`done: results in ${outDir}/results/ (${quick ? 'quick' : 'full'} run)`);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} finally {
  await stop();
}
