import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { sleep } from '../../../lib/retry.js';
import { baseEnv, logFile, pipelineEnv, type BenchContext } from '../context.js';
import { prefill } from '../prefill.js';
import { cpuMsPer1k, machineWindow, processCpuSeconds, startTs } from '../proc.js';

export interface EtlDrainResult {
  rows: number;
  rowsPerSec: number;
  drainSeconds: number;
  bareConsumePerSec: number;
  /** CPU seconds the ETL process used during the drain, and per 1,000 rows. */
  cpuSeconds: number;
  cpuMsPer1kRows: number;
  /** Share of the machine's cores busy during the drain (ETL, engine threads, broker). */
  machineBusy: number;
  peakRssMiB: number;
}

/** kafkajs consuming the topic doing nothing (no decode, no insert): the client's ceiling, msg/s. */
async function bareConsume(kafka: Kafka, topic: string, rows: number): Promise<number> {
  const bare = kafka.consumer({
    groupId: `bench-bare-${randomUUID()}`,
    maxBytesPerPartition: 10 * 1024 * 1024,
  });
  await bare.connect();
  await bare.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let firstAt = 0;
  await new Promise<void>((resolve) => {
    void bare.run({
      eachBatch: ({ batch }) => {
        if (firstAt === 0) firstAt = performance.now();
        seen += batch.messages.length;
        if (seen >= rows) resolve();
        return Promise.resolve();
      },
    });
  });
  const perSec = Math.round(seen / ((performance.now() - firstAt) / 1000));
  await bare.disconnect();
  return perSec;
}

/**
 * 4: a pre-filled topic drained by one ETL process into the embedded engine. Rate = rows
 * committed between the first commit and the last (startup, migrations and the group join
 * excluded). Also kafkajs' bare consume rate on the same topic.
 */
export async function etlDrain(ctx: BenchContext): Promise<EtlDrainResult> {
  const rows = ctx.quick ? 50_000 : 1_000_000;
  const topic = `bench-etl-${randomUUID()}`;
  ctx.log(`  prefilling ${rows} messages`);
  await prefill(ctx.brokers, topic, rows);
  const kafka = new Kafka({ brokers: ctx.brokers, logLevel: logLevel.NOTHING });
  const bareConsumePerSec = await bareConsume(kafka, topic, rows);
  ctx.log(`  kafkajs bare consume: ${bareConsumePerSec} msg/s`);

  const groupId = `${topic}-etl`;
  const env = baseEnv(ctx, { ...pipelineEnv(topic), CLICKHOUSE_DATA_DIR: join(ctx.workDir, 'chdb-etl') });
  const etl = startTs('cli/etl.ts', env, logFile(ctx, 'etl'));
  const admin = kafka.admin();
  await admin.connect();
  const committed = async () => {
    const [res] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (res?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  };
  try {
    let start = 0;
    let startRows = 0;
    let startCpu = 0;
    let busy = machineWindow();
    for (;;) {
      const done = await committed().catch(() => 0);
      if (start === 0 && done > 0) {
        [start, startRows, startCpu, busy] = [
          performance.now(),
          done,
          processCpuSeconds(etl.proc.pid) ?? 0,
          machineWindow(),
        ];
      }
      if (done >= rows) break;
      if (etl.proc.exitCode !== null) throw new Error('ETL exited during the drain; see etl.log');
      await sleep(start === 0 ? 50 : 100);
    }
    if (startRows >= rows) throw new Error('the drain finished before a first commit was seen: too few rows');
    const drainSeconds = (performance.now() - start) / 1000;
    const machine = busy().busy;
    const cpuSeconds = (processCpuSeconds(etl.proc.pid) ?? startCpu) - startCpu;
    const rowsPerSec = Math.round((rows - startRows) / drainSeconds);
    const cpuMsPer1kRows = cpuMsPer1k(cpuSeconds, rows - startRows);
    ctx.log(
      `  ETL: ${rows} rows, ${rowsPerSec} rows/s, peak RSS ${etl.peakRssMiB().toFixed(0)} MiB, ` +
        `CPU ${cpuMsPer1kRows} ms per 1k rows, machine ${(machine * 100).toFixed(0)}% busy`,
    );
    const figures = {
      rows,
      rowsPerSec,
      drainSeconds,
      bareConsumePerSec,
      cpuMsPer1kRows,
      machineBusy: machine,
    };
    return { ...figures, cpuSeconds: Math.round(cpuSeconds * 10) / 10, peakRssMiB: etl.peakRssMiB() };
  } finally {
    await admin.disconnect();
    await etl.stop();
  }
}
