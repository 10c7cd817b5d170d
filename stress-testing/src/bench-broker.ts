import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalKafka } from '../../lib/runtime/local-kafka.js';
import { findFreePortBlock } from '../../lib/runtime/ports.js';
import type { BenchContext } from './context.js';

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
  const ctx: BenchContext = {
    quick,
    workDir,
    brokers: kafka.brokers,
    secret: `bench-${Date.now()}-secret-0123456789abcdef`,
    log,
  };
  return {
    ctx,
    stop: async () => {
      await kafka.stop();
      if (process.env.KEEP_BENCH_DATA === undefined) rmSync(workDir, { recursive: true, force: true });
    },
  };
}
