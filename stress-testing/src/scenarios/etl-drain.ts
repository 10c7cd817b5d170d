import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import pg from 'pg';
import { BENCH_PG_OPTIONS, withDb } from '../api-bench-env.js';
import { sleep } from '../../../lib/retry.js';
import { baseEnv, logFile, pipelineEnv, type BenchContext } from '../context.js';
import { prefill } from '../prefill.js';
import {
  cpuMsPer1k,
  machineWindow,
  processCpuSeconds,
  startTs,
  threadCpuMsPer1k,
  threadCpuSeconds,
  type Child,
  type ThreadCpu,
} from '../proc.js';

export interface EtlDrainResult {
  rows: number;
  rowsPerSec: number;
  drainSeconds: number;
  bareConsumePerSec: number;
  bareConsumeCpuMsPer1k: number;
  /** CPU seconds the ETL process used during the drain, and per 1,000 rows. */
  cpuSeconds: number;
  cpuMsPer1kRows: number;
  /** The same CPU by kind of thread (proc.ts): where the ETL's cost lies. */
  cpuMsPer1kRowsByThread: ThreadCpu;
  /** Share of the machine's cores busy during the drain (ETL, engine threads, broker). */
  machineBusy: number;
  peakRssMiB: number;
  /** The resume projection over the same topic, alone in its process. */
  resumeProjection: ProjectionDrainResult;
}

/**
 * kafkajs consuming the topic doing nothing (no decode, no insert): the client's ceiling,
 * msg/s, and its CPU per 1,000 messages (this process does nothing else meanwhile).
 */
async function bareConsume(
  kafka: Kafka,
  topic: string,
  rows: number,
): Promise<{ perSec: number; cpuMsPer1k: number }> {
  const bare = kafka.consumer({
    groupId: `bench-bare-${randomUUID()}`,
    maxBytesPerPartition: 10 * 1024 * 1024,
  });
  await bare.connect();
  await bare.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let firstAt = 0;
  let cpuAt = process.cpuUsage();
  await new Promise<void>((resolve) => {
    void bare.run({
      eachBatch: ({ batch }) => {
        if (firstAt === 0) [firstAt, cpuAt] = [performance.now(), process.cpuUsage()];
        seen += batch.messages.length;
        if (seen >= rows) resolve();
        return Promise.resolve();
      },
    });
  });
  const perSec = Math.round(seen / ((performance.now() - firstAt) / 1000));
  const cpu = process.cpuUsage(cpuAt);
  await bare.disconnect();
  return { perSec, cpuMsPer1k: cpuMsPer1k((cpu.user + cpu.system) / 1e6, seen) };
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
  const bare = await bareConsume(kafka, topic, rows);
  ctx.log(`  kafkajs bare consume: ${bare.perSec} msg/s, ${bare.cpuMsPer1k} ms per 1k`);

  const groupId = `${topic}-etl`;
  // The loader alone: the resume projection that shares the ETL process is measured next.
  const env = baseEnv(ctx, {
    ...pipelineEnv(topic),
    CLICKHOUSE_DATA_DIR: join(ctx.workDir, 'chdb-etl'),
    RESUME_PROJECTION_ENABLED: 'false',
  });
  const etl = startTs('cli/etl.ts', env, logFile(ctx, 'etl'));
  const admin = kafka.admin();
  await admin.connect();
  try {
    const drained = await measuredDrain(admin, etl, groupId, topic, rows);
    ctx.log(
      `  ETL: ${rows} rows, ${drained.perSec} rows/s, peak RSS ${etl.peakRssMiB().toFixed(0)} MiB, ` +
        `CPU ${drained.cpuMsPer1k} ms per 1k rows (${threadsText(drained.byThread)}), ` +
        `machine ${(drained.machineBusy * 100).toFixed(0)}% busy`,
    );
    await etl.stop();
    const projection = await projectionDrain(ctx, admin, topic, rows);
    return {
      rows,
      rowsPerSec: drained.perSec,
      drainSeconds: drained.seconds,
      bareConsumePerSec: bare.perSec,
      bareConsumeCpuMsPer1k: bare.cpuMsPer1k,
      cpuMsPer1kRows: drained.cpuMsPer1k,
      cpuMsPer1kRowsByThread: drained.byThread,
      machineBusy: drained.machineBusy,
      cpuSeconds: Math.round(drained.cpuSeconds * 10) / 10,
      peakRssMiB: etl.peakRssMiB(),
      resumeProjection: projection,
    };
  } finally {
    await admin.disconnect();
    await etl.stop();
  }
}

interface Drained {
  perSec: number;
  seconds: number;
  cpuSeconds: number;
  cpuMsPer1k: number;
  byThread: ThreadCpu;
  machineBusy: number;
}

/** A process's CPU by kind of thread, for a log line. */
export function threadsText(t: ThreadCpu): string {
  return `JavaScript thread ${t.js}, engine threads ${t.engine}, libuv and V8 helpers ${t.node}`;
}

/**
 * A consumer process draining `topic` in `groupId`: rate from its first commit to its last
 * (startup and the group join excluded) and its own CPU over the same window, from /proc.
 */
async function measuredDrain(
  admin: Admin,
  child: Child,
  groupId: string,
  topic: string,
  rows: number,
): Promise<Drained> {
  const committed = async () => {
    const [res] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (res?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  };
  let start = 0;
  let startRows = 0;
  let startCpu = 0;
  let startThreads: ThreadCpu = { js: 0, engine: 0, node: 0 };
  let busy = machineWindow();
  for (;;) {
    const done = await committed().catch(() => 0);
    if (start === 0 && done > 0) {
      [start, startRows, startCpu, busy] = [
        performance.now(),
        done,
        processCpuSeconds(child.proc.pid) ?? 0,
        machineWindow(),
      ];
      startThreads = threadCpuSeconds(child.proc.pid) ?? startThreads;
    }
    if (done >= rows) break;
    if (child.proc.exitCode !== null) throw new Error(`${groupId} exited during the drain; see its log`);
    await sleep(start === 0 ? 50 : 100);
  }
  if (startRows >= rows) throw new Error('the drain finished before a first commit was seen: too few rows');
  const seconds = (performance.now() - start) / 1000;
  const cpuSeconds = (processCpuSeconds(child.proc.pid) ?? startCpu) - startCpu;
  const endThreads = threadCpuSeconds(child.proc.pid) ?? startThreads;
  return {
    perSec: Math.round((rows - startRows) / seconds),
    seconds,
    cpuSeconds,
    cpuMsPer1k: cpuMsPer1k(cpuSeconds, rows - startRows),
    byThread: threadCpuMsPer1k(startThreads, endThreads, rows - startRows),
    machineBusy: busy().busy,
  };
}

export interface ProjectionDrainResult {
  eventsPerSec: number;
  /** The projection process's own CPU; PostgreSQL's is in machineBusy. */
  cpuMsPer1kEvents: number;
  machineBusy: number;
}

/**
 * The resume projection (which runs in the ETL process beside the loader) draining the same
 * topic into a fresh PostgreSQL database, alone in a process, so its cost per event is its own
 * figure and not hidden in the API's or the loader's.
 */
async function projectionDrain(
  ctx: BenchContext,
  admin: Admin,
  topic: string,
  rows: number,
): Promise<ProjectionDrainResult> {
  const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const database = `sa_bench_projection_${Date.now()}`;
  const groupId = `${topic}-resume`;
  const child = startTs(
    'stress-testing/src/projection-target.ts',
    baseEnv(ctx, {
      KAFKA_TOPIC_PROGRESS: topic,
      RESUME_PROJECTION_GROUP_ID: groupId,
      POSTGRES_URL: `${server}/${database}`,
      PGOPTIONS: process.env.BENCH_PG_OPTIONS ?? BENCH_PG_OPTIONS,
      CLICKHOUSE_DATA_DIR: join(ctx.workDir, 'chdb-projection'),
    }),
    logFile(ctx, 'projection'),
  );
  try {
    const d = await measuredDrain(admin, child, groupId, topic, rows);
    ctx.log(
      `  resume projection: ${d.perSec} events/s, CPU ${d.cpuMsPer1k} ms per 1k events, ` +
        `machine ${(d.machineBusy * 100).toFixed(0)}% busy`,
    );
    return { eventsPerSec: d.perSec, cpuMsPer1kEvents: d.cpuMsPer1k, machineBusy: d.machineBusy };
  } finally {
    await child.stop();
    await withDb(`${server}/postgres`, (db) =>
      db.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`),
    );
  }
}
