import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { API_NODE_FLAGS } from '../../../lib/runtime/node-flags.js';
import { findFreePort } from '../../../lib/runtime/ports.js';
import { baseEnv, logFile, viewerTokens, type BenchContext } from '../context.js';
import { batchBody, progressBody, runLoad, type LoadResult } from '../load.js';
import { cpuMsPer1k, processCpuSeconds, startTs, waitHttp } from '../proc.js';

export interface ApiIngestResult {
  single: { steps: LoadResult[]; best: LoadResult; targetP99Ms: number };
  batch: Record<string, LoadResult>;
  peakRssMiB: number;
}

const TARGET_P99_MS = 50;

/**
 * 1 and 2: the API process alone (embedded engine for its read path, real broker),
 * driven by autocannon on the same cores. Single events at rising concurrency until p99
 * breaks the target; then the batch endpoint at 50 and 500 events per request. Bodies
 * come from pools built before the run so the load generator spends its CPU on HTTP.
 */
export async function apiIngest(ctx: BenchContext): Promise<ApiIngestResult> {
  const port = await findFreePort();
  const api = startTs(
    'stress-testing/src/api-target.ts',
    baseEnv(ctx, {
      PORT: String(port),
      CLICKHOUSE_DATA_DIR: join(ctx.workDir, 'chdb-api'),
      KAFKA_TOPIC_PROGRESS: `bench-api-${randomUUID()}`,
    }),
    logFile(ctx, 'api'),
    API_NODE_FLAGS,
  );
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitHttp(`${url}/readyz`);
    const tokens = await viewerTokens(ctx, 64);
    const films = Array.from({ length: 256 }, () => randomUUID());
    const singles = Array.from({ length: 2048 }, progressBody);
    let i = 0;
    const single = () => {
      i++;
      return {
        method: 'POST' as const,
        path: `/api/v1/progress/films/${films[i % films.length]}`,
        body: singles[i % singles.length],
        token: tokens[i % tokens.length]!,
      };
    };
    const duration = ctx.quick ? 1 : 8;
    // Warm up JIT, connections and the broker (started moments ago: its own JIT, the new
    // topic's leaders). One fixed warm-up was not always enough: a run once measured its
    // first step at p50 14 ms and p99 383 ms where others measure 3 and 7, and stopped the
    // curve there. So: short runs until one holds the target, five at most.
    for (let w = 0; w < (ctx.quick ? 1 : 5); w++) {
      const warm = await runLoad({
        url,
        connections: 8,
        durationSec: ctx.quick ? 1 : 3,
        request: single,
        eventsPerRequest: 1,
      });
      ctx.log(`  warm-up ${w + 1}: ${warm.eventsPerSec} ev/s p99 ${warm.p99Ms} ms`);
      if (warm.p99Ms <= TARGET_P99_MS) break;
    }
    // The API's own CPU per accepted event: what a step cost the process under test.
    const measured = async (spec: Parameters<typeof runLoad>[0]): Promise<LoadResult> => {
      const cpu0 = processCpuSeconds(api.proc.pid) ?? 0;
      const r = await runLoad(spec);
      const cpu = (processCpuSeconds(api.proc.pid) ?? cpu0) - cpu0;
      const events = r.eventsPerSec * spec.durationSec;
      return { ...r, cpuMsPer1kEvents: cpuMsPer1k(cpu, events) };
    };
    const steps: LoadResult[] = [];
    let broken = 0;
    for (const connections of ctx.quick ? [4, 16] : [1, 2, 4, 8, 16, 32, 64, 128]) {
      const r = await measured({
        url,
        connections,
        durationSec: duration,
        request: single,
        eventsPerRequest: 1,
      });
      steps.push(r);
      ctx.log(
        `  api single c=${connections}: ${r.eventsPerSec} ev/s p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms errors ${r.errors + r.non2xx}, API CPU ${r.cpuMsPer1kEvents} ms per 1k events`,
      );
      // Latency broke twice in a row: more connections only queue. Twice, so one step that
      // lands on a stall of this shared machine does not end the curve.
      broken = r.p99Ms > 4 * TARGET_P99_MS ? broken + 1 : 0;
      if (broken === 2) break;
    }
    const withinTarget = steps.filter((s) => s.p99Ms <= TARGET_P99_MS && s.non2xx + s.errors === 0);
    const best = (withinTarget.length > 0 ? withinTarget : steps).reduce((a, b) =>
      b.eventsPerSec > a.eventsPerSec ? b : a,
    );

    const batch: Record<string, LoadResult> = {};
    for (const size of [50, 500]) {
      const bodies = Array.from({ length: ctx.quick ? 16 : 128 }, () => batchBody(size));
      let j = 0;
      const req = () => {
        j++;
        return {
          method: 'POST' as const,
          path: '/api/v1/progress/batch',
          body: bodies[j % bodies.length],
          token: tokens[j % tokens.length]!,
        };
      };
      let top: LoadResult | undefined;
      for (const connections of ctx.quick ? [4] : [2, 4, 8, 16]) {
        const r = await measured({
          url,
          connections,
          durationSec: duration,
          request: req,
          eventsPerRequest: size,
        });
        ctx.log(
          `  api batch ${size} c=${connections}: ${r.eventsPerSec} ev/s p99 ${r.p99Ms} ms errors ${r.errors + r.non2xx}, API CPU ${r.cpuMsPer1kEvents} ms per 1k events`,
        );
        if (top === undefined || r.eventsPerSec > top.eventsPerSec) top = r;
      }
      batch[String(size)] = top!;
    }
    return { single: { steps, best, targetP99Ms: TARGET_P99_MS }, batch, peakRssMiB: api.peakRssMiB() };
  } finally {
    await api.stop();
  }
}
