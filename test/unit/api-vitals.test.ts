import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { createMetrics } from '../../lib/metrics/registry.js';
import { vitalsBetween } from '../../stress-testing/src/api-vitals.js';
import { sleep } from '../../lib/retry.js';

const ROUTE = '/api/v1/experiments';

/** A /metrics text with the samples vitalsBetween reads. */
function metricsText(o: {
  requests: number;
  within10ms: number;
  major: number;
  minor: number;
  cpu: number;
  pgWaits?: number;
  pgWaitsWithin10ms?: number;
}): string {
  return [
    `http_request_duration_seconds_bucket{le="0.01",method="GET",route="${ROUTE}",status="200"} ${o.within10ms}`,
    `http_request_duration_seconds_count{method="GET",route="${ROUTE}",status="200"} ${o.requests}`,
    `http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 7`,
    `nodejs_gc_duration_seconds_count{kind="major",service="api"} ${o.major}`,
    `nodejs_gc_duration_seconds_count{kind="minor",service="api"} ${o.minor}`,
    `nodejs_gc_duration_seconds_sum{kind="major",service="api"} ${o.major * 0.01}`,
    `process_cpu_seconds_total{service="api"} ${o.cpu}`,
    `pg_batch_wait_seconds_bucket{le="0.005",statement="devices-load",service="api"} ${(o.pgWaitsWithin10ms ?? 0) / 2}`,
    `pg_batch_wait_seconds_bucket{le="0.01",statement="devices-load",service="api"} ${o.pgWaitsWithin10ms ?? 0}`,
    `pg_batch_wait_seconds_count{statement="devices-load",service="api"} ${o.pgWaits ?? 0}`,
  ].join('\n');
}

describe('API vitals between two scrapes', () => {
  it('counts what happened in the window only: requests, slow share, major GCs, CPU', () => {
    const before = {
      at: 0,
      text: metricsText({ requests: 100, within10ms: 100, major: 3, minor: 50, cpu: 10 }),
    };
    const after = {
      at: 10_000,
      text: metricsText({
        requests: 20_100,
        within10ms: 20_080,
        major: 5,
        minor: 90,
        cpu: 15,
        pgWaits: 4_000,
        pgWaitsWithin10ms: 3_960,
      }),
    };
    const v = vitalsBetween(before, after, ROUTE);
    expect(v.pgWaitOver10msShare).to.equal(0.01); // 40 of 4,000, only the le="0.01" bucket
    expect(v.requests).to.equal(20_000);
    expect(v.serverOver10msShare).to.equal(0.001);
    expect(v.majorGcs).to.equal(2); // the minor ones are not counted
    expect(v.cpuCores).to.equal(0.5);
  });

  it('reads major GCs under the name and label prom-client really exports', async () => {
    const metrics = createMetrics({ service: 'test' });
    const scrape = async () => ({ at: performance.now(), text: await metrics.registry.metrics() });
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const before = await scrape();
    gc(); // a full collection: a mark-compact
    await sleep(50); // the GC observer reports asynchronously
    const after = await scrape();
    expect(vitalsBetween(before, after, ROUTE).majorGcs).to.be.at.least(1);
  });
});
