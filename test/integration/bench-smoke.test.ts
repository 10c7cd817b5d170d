import { expect } from 'chai';
import { quickRun } from '../helpers/bench-run.js';

/**
 * `npm run bench -- --quick` end to end: every scenario runs against its real parts and
 * reports a figure. Only that figures exist is asserted — never how fast they are (speed
 * targets live in stress-testing/RESULTS.md, measured by the full run).
 */
describe('benchmark harness (quick smoke run)', function () {
  this.timeout(600_000);

  it('produces every figure, ratio and target line', async () => {
    const r = await quickRun('bench');
    const f = r.figures;
    const positive = [
      f.apiSingle.best.eventsPerSec,
      f.apiBatch['50'].eventsPerSec,
      f.apiBatch['500'].eventsPerSec,
      f.apiBatch['500'].jsThreadBusy,
      f.kafkaProducerPerformance.recordsPerSec,
      f.etl.rowsPerSec,
      f.etl.bareConsumePerSec,
      f.etl.bareConsumeCpuMsPer1k,
      f.engineInsert.rowsPerSec,
      f.etlFloorMsPer1kRows,
      // The split is read in ticks of 10 ms: the engine alone (its whole insert) shows each
      // kind; the quick ETL drain may be too short a window for each, so it is held by its sum.
      f.engineInsert.cpuMsPer1kRowsByThread.engine,
      f.engineInsert.cpuMsPer1kRowsByThread.node, // the engine's insert call runs on libuv's pool
      f.apiProducerAlone.messagesPerSec,
      f.apiProducerAlone.cpuMsPer1kMessages,
      f.resumeProjection.eventsPerSec,
      f.resumeProjection.cpuMsPer1kEvents,
      f.apiSingle.best.cpuMsPer1kEvents,
      f.apiSingle.control.requestsPerSec,
      f.apiSingle.control.cpuUsPerRequest,
      f.freshness.probes,
      f.readPath.saturated.requestsPerSec,
      f.readPath.load.achievedPerSec,
      f.readPath.list.saturated.requestsPerSec,
      f.readPath.list.load.achievedPerSec,
      f.memory.apiPeakRssMiB,
      f.memory.etlPeakRssMiB,
      f.analystIsolation.rows,
      f.analystIsolation.without.freshness.probes,
      f.analystIsolation.withAnalyst.freshness.probes,
      f.analystIsolation.withAnalyst.analyst.queries,
    ];
    for (const v of positive) expect(v).to.be.a('number').and.greaterThan(0);
    expect(f.apiSingle.steps.length).to.be.greaterThan(1);
    // One thread's share of one core (read in 10 ms ticks over the step).
    expect(f.apiBatch['500'].jsThreadBusy).to.be.at.most(1.1);
    // The ETL's CPU by kind of thread adds up to its CPU (both read from /proc at the drain's ends).
    const t = f.etl.cpuMsPer1kRowsByThread;
    for (const v of [t.js, t.engine, t.node]) expect(v).to.be.a('number').and.at.least(0);
    expect(t.js + t.engine + t.node).to.be.closeTo(
      f.etl.cpuMsPer1kRows,
      Math.max(1, f.etl.cpuMsPer1kRows / 4),
    );
    expect(Object.values(r.ratios).every((v) => typeof v === 'number' && v > 0)).to.equal(true);
    expect(r.ratios).to.include.keys(
      'ingestP99WithAnalystToWithout',
      'freshnessP99WithAnalystToWithout',
      'apiBatch500ToProducerAlone',
      'apiSingleCpuToControl',
      'producerAloneToKafkaLimit',
    );
    // The stress-testing issue's seven and issue 37's five (CPU per event beside its floors).
    expect(r.targets).to.have.length(12);
  });
});
