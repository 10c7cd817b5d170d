import { join } from 'node:path';
import { API_NODE_FLAGS } from '../../../lib/runtime/node-flags.js';
import { findFreePort } from '../../../lib/runtime/ports.js';
import { baseEnv, logFile, viewerTokens, type BenchContext } from '../context.js';
import { runLoad, type LoadResult } from '../load.js';
import { runOpenLoop, type OpenLoopResult } from '../open-loop.js';
import { runTsJson, startTs, waitHttp } from '../proc.js';

/** The ids fill-rows.ts generates, so the benchmark asks for rows that exist. */
const viewerUuid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
const filmUuid = (i: number) => `11111111-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

export interface ReadPathResult {
  tableRows: number;
  fillSeconds: number;
  /** OPTIMIZE FINAL of progress_latest after the fill, and the parts it left. */
  settleSeconds: number;
  parts: number;
  /** Closed loop, 4 connections: the most lookups/s one API process answers. */
  saturated: LoadResult;
  /** Open loop at half the saturated rate: the latency a lookup sees under load. */
  load: OpenLoopResult;
}

/**
 * 7: resume lookups (GET) against a progress table of 10M rows, through the API. Two
 * loads: closed-loop at 4 connections finds the most lookups/s, and latency is measured
 * open-loop at half that rate. The embedded engine runs one query at a time, so a closed
 * loop's latency is (connections x service time): queueing made by the generator itself.
 */
export async function readPath(ctx: BenchContext): Promise<ReadPathResult> {
  const rows = ctx.quick ? 200_000 : 10_000_000;
  const dataDir = join(ctx.workDir, 'chdb-read');
  ctx.log(`  filling ${rows} rows`);
  const filled = runTsJson<{ seconds: number; settleSeconds: number; parts: number }>(
    'stress-testing/src/fill-rows.ts',
    [dataDir, String(rows)],
  );
  ctx.log(
    `  filled in ${filled.seconds.toFixed(1)} s; progress_latest merged in ${filled.settleSeconds} s, ${filled.parts} part(s)`,
  );
  const port = await findFreePort();
  const api = startTs(
    'stress-testing/src/api-target.ts',
    baseEnv(ctx, { PORT: String(port), CLICKHOUSE_DATA_DIR: dataDir }),
    logFile(ctx, 'api-read'),
    API_NODE_FLAGS,
  );
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitHttp(`${url}/readyz`);
    // Viewers spread over those that have rows (fill-rows: viewer = row % 1,000,000).
    const step = Math.max(1, Math.floor(Math.min(rows, 1_000_000) / 1000));
    const viewers = Array.from({ length: 1000 }, (_, i) => i * step);
    const tokens = await viewerTokens(ctx, viewers.length, viewers.map(viewerUuid));
    const films = Math.max(1, Math.floor(rows / 1_000_000));
    let i = 0;
    const req = () => {
      i++;
      return {
        method: 'GET' as const,
        path: `/api/v1/progress/films/${filmUuid(i % films)}`,
        token: tokens[i % tokens.length]!,
      };
    };
    await runLoad({ url, connections: 4, durationSec: ctx.quick ? 1 : 3, request: req, eventsPerRequest: 1 });
    const saturated = await runLoad({
      url,
      connections: 4,
      durationSec: ctx.quick ? 2 : 10,
      request: req,
      eventsPerRequest: 1,
    });
    ctx.log(
      `  saturated (4 connections): ${saturated.requestsPerSec} req/s p50 ${saturated.p50Ms} ms p99 ${saturated.p99Ms} ms`,
    );
    const load = await runOpenLoop({
      url,
      rate: Math.max(1, Math.round(saturated.requestsPerSec / 2)),
      durationSec: ctx.quick ? 2 : 20,
      maxConnections: 64,
      request: () => {
        const r = req();
        return { path: r.path, headers: { authorization: `Bearer ${r.token}` } };
      },
    });
    ctx.log(
      `  read path @${rows} rows, ${load.rate} req/s open loop: p50 ${load.p50Ms} ms p99 ${load.p99Ms} ms non2xx ${load.non2xx}`,
    );
    const failed = saturated.non2xx + saturated.errors + load.non2xx + load.errors;
    if (failed > 0) throw new Error(`read path answered ${failed} failed lookups (rows missing?)`);
    return {
      tableRows: rows,
      fillSeconds: filled.seconds,
      settleSeconds: filled.settleSeconds,
      parts: filled.parts,
      saturated,
      load,
    };
  } finally {
    await api.stop();
  }
}
