import { expect } from 'chai';
import { quickRun } from '../helpers/bench-run.js';

/**
 * `npm run bench:soak -- --quick` end to end: two minutes of the mix against the real API,
 * ETL, broker and PostgreSQL. Asserted: every accepted event stored exactly once, both
 * processes sampled and their slopes computed; a request answered 503 is sent again, as
 * clients are asked to, and counted by the answer it then got. Never how fast, nor the slopes' verdict (two
 * minutes hold too few GC cycles for one).
 */
describe('soak benchmark (quick smoke run)', function () {
  this.timeout(600_000);

  it('stores every accepted event exactly once and reports each process slope, loop delay and GC share', async () => {
    const r = await quickRun('bench:soak');
    expect(r.load.completed).to.equal(r.load.sent);
    expect(r.load.errors + r.load.resendErrors, 'connection errors').to.equal(0);
    // Each request's last answer: a 503 the generator sent again as a client would (on a busy
    // host a broker can be slower than KAFKA_SEND_TIMEOUT_MS) counts by the answer it then got.
    const retried = r.load.retriedAfter503;
    for (const kind of ['progress', 'events', 'experiments', 'segments']) {
      expect(Object.keys(r.load.statuses[kind]), `${kind}, ${retried[kind]} sent again`).to.deep.equal([
        kind === 'progress' || kind === 'events' ? '202' : '200',
      ]);
    }
    const statuses = r.load.statuses as Record<string, Record<string, number>>;
    const answered = Object.values(statuses).flatMap((byStatus) => Object.values(byStatus));
    expect(answered.reduce((a, b) => a + b, 0)).to.equal(r.load.sent);
    for (const table of ['progress', 'events', 'exposures']) {
      const c = r.exactlyOnce[table];
      expect(c.accepted, table).to.be.greaterThan(0);
      // A send of unknown fate (a last 503, an exposure not acknowledged) adds one row or none.
      expect(c.stored, table).to.be.within(c.accepted, c.accepted + c.unknown);
      expect(c.distinct, table).to.equal(c.stored);
    }
    expect(r.exactlyOnce.met).to.equal(true);
    for (const name of ['api', 'etl']) {
      const p = r.processes[name];
      // Two minutes, one sample every 5 s, the first sixth left out as warm-up.
      expect(p.samples, name).to.be.at.least(15);
      for (const f of [p.heapUsed, p.rss]) {
        expect(f.slopeMiBPerHour, name).to.be.a('number');
        expect(f.stdErrMiBPerHour, name).to.be.a('number');
        expect(f.verdict, name).to.equal('inconclusive');
      }
      expect(p.eventLoop.maxMs, name).to.be.at.least(p.eventLoop.p99WorstMs);
      expect(p.gcShare, name).to.be.within(0, 1);
      expect(r.samples[name]).to.have.length.at.least(p.samples);
    }
    expect(r.processes.etl.boundedEndMiB).to.be.greaterThan(0);
    expect(r.memoryVerdict).to.equal('inconclusive');
    expect(r.scrapeFailures).to.equal(0);
  });
});
