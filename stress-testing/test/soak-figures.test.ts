import { expect } from 'chai';
import { createMetrics } from '../../lib/metrics/registry.js';
import {
  fitSlope,
  MIN_SPAN_SEC,
  overallVerdict,
  processFigures,
  sampleOf,
  SLOPE_BOUND_MIB_PER_HOUR,
  slopeVerdict,
  type ProcessSample,
} from '../src/soak-figures.js';

const MIB = 2 ** 20;
const opts = { boundMiBPerHour: SLOPE_BOUND_MIB_PER_HOUR, minSpanSec: MIN_SPAN_SEC };

/**
 * A heap sampled every 10 s for `minutes`: `baseMiB`, GC's sawtooth (young generation
 * filling for 60 s then emptied, 0..`sawMiB`), and a leak of `leakMiBPerHour`.
 */
function heap(minutes: number, leakMiBPerHour: number, sawMiB = 80, baseMiB = 200): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let t = 0; t <= minutes * 60; t += 10) {
    const saw = ((t % 60) / 60) * sawMiB;
    out.push([t, (baseMiB + saw + (leakMiBPerHour * t) / 3600) * MIB]);
  }
  return out;
}

describe('soak figures: memory slope and its verdict', () => {
  it('fits the least-squares slope of a line exactly, with no error', () => {
    const fit = fitSlope([
      [0, 1],
      [1, 3],
      [2, 5],
      [3, 7],
    ]);
    expect(fit.slope).to.equal(2);
    expect(fit.stdErr).to.equal(0);
    expect(Number.isNaN(fitSlope([[0, 1]]).slope)).to.equal(true);
  });

  it('shows a leak like the old token cache (about 315 MiB an hour) above the bound over 25 minutes', () => {
    const f = slopeVerdict(heap(25, 315), opts);
    expect(f.slopeMiBPerHour).to.be.within(300, 330);
    expect(f.verdict).to.equal('above');
  });

  it('finds a flat heap under GC sawtooth within the bound', () => {
    const f = slopeVerdict(heap(25, 0), opts);
    expect(Math.abs(f.slopeMiBPerHour)).to.be.below(10);
    expect(f.verdict).to.equal('within');
    expect(f.startMiB).to.equal(200);
  });

  it('gives no verdict on a run shorter than the minimum span, but still the slope', () => {
    const f = slopeVerdict(heap(2, 315), opts);
    expect(f.verdict).to.equal('inconclusive');
    expect(f.why).to.contain('under 600 s');
    expect(f.slopeMiBPerHour).to.be.greaterThan(100);
  });

  it('gives no verdict when the slope is too noisy to tell from the bound', () => {
    // A slope at the bound, plus a large sawtooth: ± 2 standard errors straddle it.
    const f = slopeVerdict(heap(12, SLOPE_BOUND_MIB_PER_HOUR, 300), opts);
    expect(f.verdict).to.equal('inconclusive');
    expect(f.why).to.contain('straddles');
  });

  it('judges RSS less the memory bounded by design, and takes every figure after the warm-up', () => {
    const samples: ProcessSample[] = heap(30, 0).map(([tSec, bytes], i) => ({
      tSec,
      heapUsedBytes: bytes,
      // The dedup windows grow 200 MiB an hour; the rest of RSS is flat.
      boundedBytes: (200 * MIB * tSec) / 3600,
      rssBytes: bytes + 100 * MIB + (200 * MIB * tSec) / 3600,
      lagP99Ms: tSec < 300 ? 500 : i % 2 === 0 ? 2 : 4,
      lagMaxMs: tSec < 300 ? 900 : 20,
      gcSeconds: tSec * 0.01,
    }));
    const f = processFigures(samples, { ...opts, warmupSec: 300 });
    expect(f.samples).to.equal(151);
    expect(f.spanSec).to.equal(1500);
    expect(f.rss.verdict).to.equal('within');
    expect(f.boundedEndMiB).to.equal(100);
    expect(f.eventLoop).to.deep.equal({ p99MedianMs: 2, p99WorstMs: 4, maxMs: 20 });
    expect(f.gcShare).to.equal(0.01);
  });

  it('says above when one slope is above, within only when all are', () => {
    const within = slopeVerdict(heap(25, 0), opts);
    const above = slopeVerdict(heap(25, 315), opts);
    const short = slopeVerdict(heap(2, 0), opts);
    expect(overallVerdict([within, within])).to.equal('within');
    expect(overallVerdict([within, short, above])).to.equal('above');
    expect(overallVerdict([within, short])).to.equal('inconclusive');
    expect(overallVerdict([])).to.equal('inconclusive');
  });

  it('reads a sample under the names prom-client really exports', async () => {
    const metrics = createMetrics({ service: 'etl' });
    metrics.dedupWindowBytes.set({ topic: 'a' }, 3 * MIB);
    metrics.dedupWindowBytes.set({ topic: 'b' }, MIB);
    const s = sampleOf(await metrics.registry.metrics(), 12.34);
    expect(s.tSec).to.equal(12.3);
    expect(s.heapUsedBytes).to.be.greaterThan(MIB);
    expect(s.rssBytes).to.be.greaterThan(s.heapUsedBytes);
    expect(s.boundedBytes).to.equal(4 * MIB);
    expect(s.lagP99Ms).to.be.at.least(0);
    expect(s.lagMaxMs).to.be.at.least(s.lagP99Ms);
    expect(s.gcSeconds).to.be.at.least(0);
  });
});
