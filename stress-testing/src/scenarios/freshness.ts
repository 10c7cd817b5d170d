import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { sleep } from '../../../lib/retry.js';
import { API_NODE_FLAGS } from '../../../lib/runtime/node-flags.js';
import { findFreePort } from '../../../lib/runtime/ports.js';
import { baseEnv, logFile, percentile, pipelineEnv, viewerTokens, type BenchContext } from '../context.js';
import { progressBody, runLoad, singleEvents } from '../load.js';
import { startTs, waitHttp } from '../proc.js';

export interface FreshnessResult {
  backgroundEventsPerSec: number;
  probes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * 6: api + etl + embedded engine in one process (the standalone mode) under half the
 * highest sustained API rate; probe events measure the time from their 202 to being
 * readable through the resume lookup (the resume projection → PostgreSQL, architecture/adr/0011).
 */
export async function freshness(ctx: BenchContext, backgroundRate: number): Promise<FreshnessResult> {
  const port = await findFreePort();
  const topic = `bench-fresh-${randomUUID()}`;
  const env = {
    PORT: String(port),
    CLICKHOUSE_DATA_DIR: join(ctx.workDir, 'chdb-fresh'),
    ...pipelineEnv(topic),
  };
  const app = startTs('cli/standalone.ts', baseEnv(ctx, env), logFile(ctx, 'standalone'), API_NODE_FLAGS);
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitHttp(`${url}/readyz`);
    const durationSec = ctx.quick ? 3 : 20;
    const background = runLoad({
      ...{ url, connections: 16, durationSec, overallRate: backgroundRate, eventsPerRequest: 1 },
      request: singleEvents(await viewerTokens(ctx, 64)),
    });
    await sleep(1000); // let the background load settle
    const probeTokens = await viewerTokens(ctx, 16);
    const latencies: number[] = [];
    const until = Date.now() + (durationSec - 2) * 1000;
    let p = 0;
    while (Date.now() < until) {
      const token = probeTokens[p++ % probeTokens.length]!;
      const film = randomUUID();
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const res = await fetch(`${url}/api/v1/progress/films/${film}`, {
        method: 'POST',
        headers,
        body: progressBody(),
      });
      if (res.status !== 202) continue;
      const accepted = performance.now();
      for (;;) {
        const get = await fetch(`${url}/api/v1/progress/films/${film}`, { headers });
        await get.arrayBuffer();
        if (get.status === 200) break;
        if (performance.now() - accepted > 30_000) throw new Error('probe never became visible');
        await sleep(5);
      }
      latencies.push(performance.now() - accepted);
      await sleep(50);
    }
    const bg = await background;
    latencies.sort((a, b) => a - b);
    const result = {
      backgroundEventsPerSec: bg.eventsPerSec,
      probes: latencies.length,
      p50Ms: Math.round(percentile(latencies, 50)),
      p99Ms: Math.round(percentile(latencies, 99)),
      maxMs: Math.round(latencies[latencies.length - 1] ?? NaN),
    };
    ctx.log(
      `  freshness @${bg.eventsPerSec} ev/s: p50 ${result.p50Ms} ms p99 ${result.p99Ms} ms (${result.probes} probes)`,
    );
    return result;
  } finally {
    await app.stop();
  }
}
