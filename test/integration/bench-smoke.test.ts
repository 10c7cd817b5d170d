import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { uniqueName } from '../helpers/ids.js';
import { ROOT } from '../helpers/processes.js';
import { testEnv } from '../helpers/test-env.js';

const exec = promisify(execFile);

/** `npm run <script> -- --quick` into a directory of its own; the one results file it wrote, parsed. */
async function quickRun(script: string) {
  const out = join(testEnv().workDir, uniqueName(script.replace(':', '_')));
  await exec('npm', ['run', '-s', script, '--', '--quick', '--out', out], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const files = readdirSync(join(out, 'results'));
  expect(files).to.have.length(1);
  expect(files[0]).to.match(/^(|[a-z-]+-)\d{4}-\d\d-\d\dT\d\d-\d\d-quick\.json$/);
  return JSON.parse(readFileSync(join(out, 'results', files[0]!), 'utf8'));
}

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
      f.kafkaProducerPerformance.recordsPerSec,
      f.etl.rowsPerSec,
      f.etl.bareConsumePerSec,
      f.engineInsert.rowsPerSec,
      f.freshness.probes,
      f.readPath.saturated.requestsPerSec,
      f.readPath.load.achievedPerSec,
      f.readPath.list.saturated.requestsPerSec,
      f.readPath.list.load.achievedPerSec,
      f.memory.apiPeakRssMiB,
      f.memory.etlPeakRssMiB,
    ];
    for (const v of positive) expect(v).to.be.a('number').and.greaterThan(0);
    expect(f.apiSingle.steps.length).to.be.greaterThan(1);
    expect(Object.values(r.ratios).every((v) => typeof v === 'number' && v > 0)).to.equal(true);
    expect(r.targets).to.have.length(7);
  });

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
