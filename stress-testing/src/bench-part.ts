/**
 * npm run bench:part -- <api|etl|read> [--quick]: one part of `npm run bench`, printed, nothing
 * written, for iterating without the 15-minute full run.
 *   api: figures 1-2 (single events at rising concurrency, batches of 50 and 500), with the
 *        API process's CPU per 1,000 accepted events;
 *   etl: figures 4-5 (drain of 1,000,000 progress events, bare consume, engine insert
 *        limit), with CPU per 1,000 rows and how busy the machine was;
 *   read: figure 7 (resume lookups against 10,000,000 rows).
 * Environment variables reach the processes under test (e.g. KAFKA_PRODUCER_CLIENT).
 */
import { parseArgs } from 'node:util';
import { startBenchRun } from './bench-broker.js';
import type { BenchContext } from './context.js';
import { apiIngest } from './scenarios/api-ingest.js';
import { engineInsertLimit } from './scenarios/engine-limit.js';
import { etlDrain } from './scenarios/etl-drain.js';
import { readPath } from './scenarios/read-path.js';

async function etlPart(ctx: BenchContext): Promise<Record<string, unknown>> {
  const etl = await etlDrain(ctx);
  const engine = engineInsertLimit(ctx, etl.rows);
  ctx.log(`  engine: ${engine.rowsPerSec} rows/s, ${engine.cpuMsPer1kRows} CPU ms per 1k rows`);
  return {
    rows: etl.rows,
    etlRowsPerSec: etl.rowsPerSec,
    bareConsumePerSec: etl.bareConsumePerSec,
    engineRowsPerSec: engine.rowsPerSec,
    engineCpuMsPer1kRows: engine.cpuMsPer1kRows,
    etlToEngineInsert: Math.round((etl.rowsPerSec / engine.rowsPerSec) * 1000) / 1000,
    etlPeakRssMiB: Math.round(etl.peakRssMiB),
    etlCpuSeconds: etl.etlCpuSeconds,
    etlCpuMsPer1kRows: etl.etlCpuMsPer1kRows,
    machineBusy: etl.machineBusy,
  };
}

async function apiPart(ctx: BenchContext): Promise<Record<string, unknown>> {
  const api = await apiIngest(ctx);
  return { single: api.single.best, batch: api.batch, peakRssMiB: Math.round(api.peakRssMiB) };
}

const { values, positionals } = parseArgs({
  options: { quick: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const parts: Record<string, (ctx: BenchContext) => Promise<unknown>> = {
  api: apiPart,
  etl: etlPart,
  read: readPath,
};
const part = positionals[0] ?? '';
const run = parts[part];
if (run === undefined) throw new Error('usage: npm run bench:part -- <api|etl|read> [--quick]');
const { ctx, stop } = await startBenchRun(part, values.quick);
try {
  const figures = await run(ctx);
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
} finally {
  await stop();
}
