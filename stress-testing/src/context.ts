import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { signHs256 } from '../../lib/auth/sign-token.js';
import { LocalKafka } from '../../lib/runtime/local-kafka.js';
import { findFreePortBlock } from '../../lib/runtime/ports.js';

/** Settings shared by the scenarios of one benchmark run. */
export interface BenchContext {
  quick: boolean;
  workDir: string;
  brokers: string[];
  secret: string;
  log(msg: string): void;
}

/** A bench's command line: `--quick` (a smoke run) and `--out DIR` (default stress-testing/). */
export function benchArgs(): { quick: boolean; outDir: string } {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } },
  });
  return { quick: values.quick, outDir: values.out ?? join(import.meta.dirname, '..') };
}

/**
 * The start of every benchmark run: a work directory, a real Kafka broker (KRaft, from the
 * Maven jars) and the run's context. `stop` stops the broker and removes the directory
 * (kept with KEEP_BENCH_DATA).
 */
export async function startBenchRun(
  name: string,
  quick: boolean,
): Promise<{ ctx: BenchContext; stop: () => Promise<void> }> {
  const workDir = mkdtempSync(join(tmpdir(), `sa-bench-${name}-`));
  const kafka = new LocalKafka({
    dir: join(workDir, 'kafka'),
    nodes: 1,
    basePort: await findFreePortBlock(1),
    heap: '1g',
  });
  process.on('exit', () => kafka.killAllSync());
  const started = Date.now();
  const log = (msg: string) =>
    process.stderr.write(`[bench:${name} +${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
  await kafka.start();
  const secret = `bench-${Date.now()}-secret-0123456789abcdef`;
  const ctx: BenchContext = { quick, workDir, brokers: kafka.brokers, secret, log };
  return {
    ctx,
    stop: async () => {
      await kafka.stop();
      if (process.env.KEEP_BENCH_DATA === undefined) rmSync(workDir, { recursive: true, force: true });
    },
  };
}

export function logFile(ctx: BenchContext, name: string): string {
  return join(ctx.workDir, `${name}.log`);
}

/** Tokens for `count` distinct viewers (load spreads over partitions as real traffic does). */
export async function viewerTokens(ctx: BenchContext, count: number, viewers?: string[]): Promise<string[]> {
  const subs = viewers ?? Array.from({ length: count }, () => randomUUID());
  return Promise.all(subs.map((sub) => signHs256(ctx.secret, { sub, ttlSec: 6 * 3600 })));
}

const LOCAL = { HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
export function baseEnv(ctx: BenchContext, extra: Record<string, string>): Record<string, string> {
  return { KAFKA_BROKERS: ctx.brokers.join(','), JWT_SECRET: ctx.secret, ...LOCAL, ...extra };
}

/** The topics and consumer groups of an ETL (or standalone) process of its own, named after `t`. */
export function pipelineEnv(t: string): Record<string, string> {
  const topics = { KAFKA_TOPIC_PROGRESS: t, KAFKA_TOPIC_EVENTS: `${t}-events`, KAFKA_TOPIC_DLQ: `${t}-dlq` };
  return {
    ...topics,
    ETL_GROUP_ID: `${t}-etl`,
    ETL_EVENTS_GROUP_ID: `${t}-etl-events`,
    ETL_METRICS_PORT: '0',
  };
}

/** The machine a results file was measured on. */
export function machineInfo(): { cpu: string; cores: number; memoryGiB: number } {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/** A figure in ms (or any unit) to two decimals, as the benchmarks report them. */
export function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
