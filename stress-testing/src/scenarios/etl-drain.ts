import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { sleep } from '../../../lib/retry.js';
import { baseEnv, logFile, type BenchContext } from '../context.js';
import { prefill } from '../prefill.js';
import { cpuMsPer1k, machineWindow, processCpuSeconds, startTs } from '../proc.js';

export interface EtlDrainResult {
  rows: number;
  rowsPerSec: number;
  drainSeconds: number;
  bareConsumePerSec: number;
  peakRssMiB: number;
  /** CPU seconds the ETL process used during the drain, and per 1,000 rows. */
  etlCpuSeconds: number;
  etlCpuMsPer1kRows: number;
  /** Share of the machine's cores busy during the drain (ETL, engine threads, broker). */
  machineBusy: number;
  dataDir: string;
}

async function committed(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [res] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (res?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * 4: a pre-filled topic drained by one ETL process into the embedded engine. Rate =
 * rows committed between the first commit and the last (startup, migrations and the group
 * join excluded). Also kafkajs' bare consume rate on the same topic: the client's ceiling.
 */
export async function etlDrain(ctx: BenchContext): Promise<EtlDrainResult> {
  const rows = ctx.quick ? 200_000 : 1_000_000;
  const topic = `bench-etl-${randomUUID()}`;
  ctx.log(`  prefilling ${rows} messages`);
  await prefill(ctx.brokers, topic, rows);
  const kafka = new Kafka({ brokers: ctx.brokers, logLevel: logLevel.NOTHING });

  // Bare consume: no decode, no insert.
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
  const bareConsumePerSec = Math.round(seen / ((performance.now() - firstAt) / 1000));
  await bare.disconnect();
  ctx.log(`  kafkajs bare consume: ${bareConsumePerSec} msg/s`);

  const groupId = `bench-etl-${randomUUID()}`;
  const dataDir = join(ctx.workDir, 'chdb-etl');
  const etl = startTs(
    'cli/etl.ts',
    baseEnv(ctx, {
      KAFKA_TOPIC_PROGRESS: topic,
      KAFKA_TOPIC_EVENTS: `${topic}-events`,
      ETL_METRICS_PORT: '0',
      KAFKA_TOPIC_DLQ: `${topic}-dlq`,
      ETL_GROUP_ID: groupId,
      ETL_EVENTS_GROUP_ID: `${groupId}-events`,
      CLICKHOUSE_DATA_DIR: dataDir,
    }),
    logFile(ctx, 'etl'),
  );
  try {
    let start = 0;
    let startRows = 0;
    let startCpu = 0;
    let busy = machineWindow();
    for (;;) {
      const done = await committed(kafka, groupId, topic).catch(() => 0);
      if (start === 0 && done > 0) {
        start = performance.now();
        startRows = done;
        startCpu = processCpuSeconds(etl.proc.pid) ?? 0;
        busy = machineWindow();
      }
      if (done >= rows) break;
      if (etl.proc.exitCode !== null) throw new Error('ETL exited during the drain; see etl.log');
      await sleep(start === 0 ? 50 : 100);
    }
    if (startRows >= rows)
      throw new Error('the drain finished before a first commit was seen: too few rows to measure');
    const drainSeconds = (performance.now() - start) / 1000;
    const machine = busy().busy;
    const etlCpuSeconds = (processCpuSeconds(etl.proc.pid) ?? startCpu) - startCpu;
    const rowsPerSec = Math.round((rows - startRows) / drainSeconds);
    const etlCpuMsPer1kRows = cpuMsPer1k(etlCpuSeconds, rows - startRows);
    ctx.log(
      `  ETL: ${rows} rows, ${rowsPerSec} rows/s, peak RSS ${etl.peakRssMiB().toFixed(0)} MiB, ` +
        `ETL CPU ${etlCpuSeconds.toFixed(1)} s (${etlCpuMsPer1kRows} ms per 1k rows), machine ${(machine * 100).toFixed(0)}% busy`,
    );
    return {
      rows,
      rowsPerSec,
      drainSeconds,
      bareConsumePerSec,
      peakRssMiB: etl.peakRssMiB(),
      etlCpuSeconds: Math.round(etlCpuSeconds * 10) / 10,
      etlCpuMsPer1kRows,
      machineBusy: Math.round(machine * 100) / 100,
      dataDir,
    };
  } finally {
    await etl.stop();
  }
}
