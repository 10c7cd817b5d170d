import { expect } from 'chai';
import { quickRun } from '../helpers/bench-run.js';

/**
 * `npm run bench:experiments -- --quick` and `npm run bench:segments -- --quick` end to end:
 * each traffic shape runs against the real API and PostgreSQL and reports its figures. Only
 * that the figures exist and add up is asserted, never how fast they are.
 */
describe('experiments and segments benchmarks (quick smoke runs)', function () {
  this.timeout(600_000);

  it('runs the experiments benchmark: every traffic shape reports latency and throughput', async () => {
    const r = await quickRun('bench:experiments');
    expect(r.phases.map((p: { name: string }) => p.name)).to.deep.equal([
      'returning (cached)',
      'returning (not cached)',
      'mixed',
      'new devices',
      'new devices',
      'new devices',
      'new devices',
    ]);
    for (const p of r.phases) {
      expect(p.windows).to.have.length(1);
      const w = p.windows[0];
      expect(w.load.completed).to.equal(w.load.sent);
      expect(w.load.achievedPerSec).to.be.greaterThan(0);
      expect(w.load.p99Ms).to.be.a('number').and.greaterThan(0);
      expect(p.p99WorstMs).to.equal(w.load.p99Ms);
      expect(w.load.non2xx).to.equal(0);
      // The API's own count of the window's requests matches what the generator got back.
      expect(w.api.requests).to.equal(w.load.completed);
      expect(w.control.completed).to.equal(w.control.sent);
    }
    expect(r.database.assignments).to.be.greaterThan(0);
  });

  it('runs the segments benchmark: rollout time and read latency over seeded users', async () => {
    const r = await quickRun('bench:segments');
    expect(r.users).to.equal(20_000);
    expect(r.seed.memberships).to.be.greaterThan(0);
    expect(r.rollout.seconds).to.be.a('number').and.greaterThan(0);
    // The 50% rollout over 20,000 users: within 4.5 standard errors of 10,000.
    expect(r.rollout.members).to.be.within(10_000 - 4.5 * 71, 10_000 + 4.5 * 71);
    expect(r.read.windows).to.have.length(1);
    const w = r.read.windows[0];
    expect(w.load.completed).to.equal(w.load.sent);
    expect(w.load.p99Ms).to.be.a('number').and.greaterThan(0);
    expect(w.load.non2xx).to.equal(0);
    // The generator's own cost and lag, and the API's own view of the same window.
    expect(w.load.generatorCpuUsPerRequest).to.be.greaterThan(0);
    expect(w.load.sendLagP99Ms).to.be.a('number').and.at.least(0);
    expect(w.load.sendLagMaxMs).to.be.at.least(w.load.sendLagP99Ms);
    expect(w.api.requests).to.equal(w.load.completed);
    expect(w.machine.busy).to.be.within(0, 1);
    // The control server was loaded over the same window, and answered every request.
    expect(w.control.rate).to.equal(200);
    expect(w.control.completed).to.equal(w.control.sent);
    expect(w.control.non2xx + w.control.errors).to.equal(0);
  });
});
