import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { findFreePort } from '../../../lib/runtime/ports.js';
import { baseEnv, logFile, viewerTokens, type BenchContext } from '../context.js';
import { filmUuid, viewerUuid } from '../ids.js';
import { runLoad, type LoadResult } from '../load.js';
import { ROOT, startTs, waitHttp } from '../proc.js';

export interface ReadPathResult {
  tableRows: number;
  fillSeconds: number;
  load: LoadResult;
}

/** 7: resume lookups (GET) against a progress table of 10M rows, through the API. */
export async function readPath(ctx: BenchContext): Promise<ReadPathResult> {
  const rows = ctx.quick ? 200_000 : 10_000_000;
  const dataDir = join(ctx.workDir, 'chdb-read');
  ctx.log(`  filling ${rows} rows`);
  const fill = spawnSync(
    process.execPath,
    ['--import', 'tsx', resolve(ROOT, 'stress-testing/src/fill-rows.ts'), dataDir, String(rows)],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  if (fill.status !== 0) throw new Error(`fill-rows failed: ${fill.stderr}`);
  const filled = JSON.parse(fill.stdout) as { seconds: number };
  const port = await findFreePort();
  const api = startTs(
    'stress-testing/src/api-target.ts',
    baseEnv(ctx, { PORT: String(port), CLICKHOUSE_DATA_DIR: dataDir }),
    logFile(ctx, 'api-read'),
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
    const load = await runLoad({
      url,
      connections: 4,
      durationSec: ctx.quick ? 2 : 10,
      request: req,
      eventsPerRequest: 1,
    });
    ctx.log(
      `  read path @${rows} rows: ${load.requestsPerSec} req/s p50 ${load.p50Ms} ms p99 ${load.p99Ms} ms non2xx ${load.non2xx}`,
    );
    if (load.non2xx > 0) throw new Error(`read path answered ${load.non2xx} non-2xx (rows missing?)`);
    return { tableRows: rows, fillSeconds: filled.seconds, load };
  } finally {
    await api.stop();
  }
}
