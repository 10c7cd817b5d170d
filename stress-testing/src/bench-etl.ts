/**
 * npm run bench:etl [-- --quick]: only figures 4 and 5 of `npm run bench` (ETL drain of
 * 1,000,000 progress events, bare consume, engine insert limit), printed, nothing written:
 * for iterating on the ETL without the 15-minute full run.
 */
import { parseArgs } from 'node:util';
import { startBenchRun } from './bench-broker.js';
import { engineInsertLimit } from './scenarios/engine-limit.js';
import { etlDrain } from './scenarios/etl-drain.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const { ctx, stop } = await startBenchRun('etl', values.quick);
try {
  const etl = await etlDrain(ctx);
  const engine = engineInsertLimit(ctx, etl.rows);
  const engineRowsPerSec = engine.rowsPerSec;
  ctx.log(`  engine: ${engineRowsPerSec} rows/s, ${engine.cpuMsPer1kRows} CPU ms per 1k rows`);
  const figures = {
    rows: etl.rows,
    etlRowsPerSec: etl.rowsPerSec,
    bareConsumePerSec: etl.bareConsumePerSec,
    engineRowsPerSec,
    engineCpuMsPer1kRows: engine.cpuMsPer1kRows,
    etlToEngineInsert: Math.round((etl.rowsPerSec / engineRowsPerSec) * 1000) / 1000,
    etlPeakRssMiB: Math.round(etl.peakRssMiB),
    etlCpuSeconds: etl.etlCpuSeconds,
    etlCpuMsPer1kRows: etl.etlCpuMsPer1kRows,
    machineBusy: etl.machineBusy,
  };
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
} finally {
  await stop();
}
