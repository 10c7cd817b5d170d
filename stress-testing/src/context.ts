import { join } from 'node:path';
import { signHs256 } from '../../lib/auth/sign-token.js';
import { randomUUID } from 'node:crypto';

/** Settings shared by the scenarios of one benchmark run. */
export interface BenchContext {
  quick: boolean;
  workDir: string;
  brokers: string[];
  secret: string;
  log(msg: string): void;
}

export function logFile(ctx: BenchContext, name: string): string {
  return join(ctx.workDir, `${name}.log`);
}

/** Tokens for `count` distinct viewers (load spreads over partitions as real traffic does). */
export async function viewerTokens(ctx: BenchContext, count: number, viewers?: string[]): Promise<string[]> {
  const subs = viewers ?? Array.from({ length: count }, () => randomUUID());
  return Promise.all(subs.map((sub) => signHs256(ctx.secret, { sub, ttlSec: 6 * 3600 })));
}

export function baseEnv(ctx: BenchContext, extra: Record<string, string>): Record<string, string> {
  return {
    KAFKA_BROKERS: ctx.brokers.join(','),
    JWT_SECRET: ctx.secret,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...extra,
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
