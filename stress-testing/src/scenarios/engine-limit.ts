import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { BenchContext } from '../context.js';
import { cpuMsPer1k, ROOT } from '../proc.js';

/**
 * 5: the same number of rows the ETL drained, inserted straight into a fresh embedded
 * engine by engine-insert-limit.ts in its own process (chdb binds one data directory per
 * process). Returns the engine's rows/s and the CPU it spent per 1,000 rows.
 */
export function engineInsertLimit(
  ctx: BenchContext,
  rows: number,
): { rowsPerSec: number; cpuMsPer1kRows: number } {
  const limitDir = join(ctx.workDir, `chdb-limit-${Date.now()}`);
  const insert = spawnSync(
    process.execPath,
    ['--import', 'tsx', resolve(ROOT, 'stress-testing/src/engine-insert-limit.ts'), limitDir, String(rows)],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  if (insert.status !== 0) throw new Error(`engine insert limit failed: ${insert.stderr}`);
  const engine = JSON.parse(insert.stdout) as { rows: number; seconds: number; cpuSeconds: number };
  return {
    rowsPerSec: Math.round(engine.rows / engine.seconds),
    cpuMsPer1kRows: cpuMsPer1k(engine.cpuSeconds, engine.rows),
  };
}
