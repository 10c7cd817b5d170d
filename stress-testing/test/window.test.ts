import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { createMetrics } from '../../lib/metrics/registry.js';
import { sleep } from '../../lib/retry.js';
import type { OpenLoopResult } from '../src/open-loop.js';
import { describeWindow, judgeWindows, vitalsBetween, windowMet, windowsTable } from '../src/window.js';
import type { MeasuredWindow } from '../src/window.js';

const target = { rps: 2000, p99Ms: 10 };
const ROUTE = '/api/v1/experiments';

function load(over: Partial<OpenLoopResult> = {}): OpenLoopResult {
  return {
    ...{ rate: 2000, sent: 20_000, completed: 20_000, achievedPerSec: 2000, non2xx: 0, errors: 0 },
    ...{ p50Ms: 0.4, p90Ms: 0.7, p99Ms: 4, p999Ms: 12, maxMs: 30 },
    ...{ generatorCpuUsPerRequest: 40, sendLagP99Ms: 0.1, sendLagMaxMs: 1 },
    ...over,
  };
}

const VITALS = { eventLoopDelayMaxMs: 5, runQueueWaitMs: 30, majorGcs: 2 };

function windowOf(over: Partial<OpenLoopResult> = {}): MeasuredWindow {
  return {
    load: load(over),
    api: { ...{ requests: 20_000, serverOver10msShare: 0, cpuCores: 0.4 }, ...VITALS },
    machine: { busy: 0.5, steal: 0 },
    control: load({ rate: 200, achievedPerSec: 200, p99Ms: 1 }),
  };
}

/** A /metrics text with the samples vitalsBetween reads. */
type Counts = { requests: number; within10ms: number; major: number; cpu: number; pgWaits?: number };
function metricsText(o: Counts): string {
  return [
    `http_request_duration_seconds_bucket{le="0.01",method="GET",route="${ROUTE}",status="200"} ${o.within10ms}`,
    `http_request_duration_seconds_count{method="GET",route="${ROUTE}",status="200"} ${o.requests}`,
    `http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 7`,
    `nodejs_gc_duration_seconds_count{kind="major",service="api"} ${o.major}`,
    `nodejs_gc_duration_seconds_count{kind="minor",service="api"} ${o.major * 20}`,
    `process_cpu_seconds_total{service="api"} ${o.cpu}`,
    `pg_batch_wait_seconds_bucket{le="0.005",statement="devices-load",service="api"} 0`,
    `pg_batch_wait_seconds_bucket{le="0.01",statement="devices-load",service="api"} ${(o.pgWaits ?? 0) * 0.99}`,
    `pg_batch_wait_seconds_count{statement="devices-load",service="api"} ${o.pgWaits ?? 0}`,
  ].join('\n');
}

describe('measured windows: a latency target judged over repeated windows', () => {
  it('a window meets the target only at the target rate, achieved, without errors, p99 within', () => {
    for (const met of [{}, { p99Ms: 10 }])
      expect(windowMet(load(met), target), JSON.stringify(met)).to.equal(true);
    const missed = [
      { p99Ms: 10.01 },
      { rate: 1000, achievedPerSec: 1000 },
      { achievedPerSec: 1900 },
      { non2xx: 1 },
      { errors: 1 },
    ];
    for (const miss of missed) expect(windowMet(load(miss), target), JSON.stringify(miss)).to.equal(false);
  });

  it('met only when every window met; reports median and worst p99, windows in the order they ran', () => {
    const windows = (...p99s: number[]) => p99s.map((p99Ms) => windowOf({ p99Ms }));
    const all = judgeWindows(windows(6, 3, 9), target);
    expect(all).to.include({ p99MedianMs: 6, p99WorstMs: 9, metWindows: 3, met: true });
    const one = judgeWindows(windows(3, 40, 5), target);
    expect(one).to.include({ p99MedianMs: 5, p99WorstMs: 40, metWindows: 2, met: false });
    expect(one.windows.map((w) => w.load.p99Ms)).to.deep.equal([3, 40, 5]);
    expect(() => judgeWindows([], target)).to.throw('no windows');
  });

  it('renders a window table whose header, separator and rows have the same cells', () => {
    const lines = windowsTable([{ label: 'cached 1', window: windowOf(), verdict: 'met' }]).split('\n');
    const cells = lines.map((line) => line.split('|').length);
    expect(cells).to.deep.equal([cells[0], cells[0], cells[0]]);
    expect(lines[2]).to.contain('| 200 |'); // API CPU µs/req: 0.4 cores at 2,000 req/s
    expect(lines[2]).to.contain('| 30 | 2 | – | 50.00% |'); // loop waited, major GCs, no PG figure, busy
    expect(describeWindow(windowOf())).to.contain('p99 ms 4, max ms 30');
  });

  it("counts what happened in the window only, from the API's /metrics", () => {
    const before = { at: 0, text: metricsText({ requests: 100, within10ms: 100, major: 3, cpu: 10 }) };
    const after = {
      at: 10_000,
      text: metricsText({ requests: 20_100, within10ms: 20_080, major: 5, cpu: 15, pgWaits: 4_000 }),
    };
    const v = vitalsBetween(before, after, ROUTE);
    expect(v).to.include({ requests: 20_000, serverOver10msShare: 0.001, majorGcs: 2, cpuCores: 0.5 });
    expect(v.pgWaitOver10msShare).to.equal(0.01); // 40 of 4,000, only the le="0.01" bucket
  });

  it('reads major GCs under the name and label prom-client really exports', async () => {
    const metrics = createMetrics({ service: 'test' });
    const scrape = async () => ({ at: performance.now(), text: await metrics.registry.metrics() });
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const before = await scrape();
    gc(); // a full collection: a mark-compact
    await sleep(50); // the GC observer reports asynchronously
    expect(vitalsBetween(before, await scrape(), ROUTE).majorGcs).to.be.at.least(1);
  });
});
