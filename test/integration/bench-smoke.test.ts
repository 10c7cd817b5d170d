import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { blockDeviceOf } from '../../stress-testing/src/disk-probe.js';
import { uniqueName } from '../helpers/ids.js';
import { ROOT } from '../helpers/processes.js';
import { testEnv } from '../helpers/test-env.js';

const exec = promisify(execFile);

/** `npm run <script> -- --quick` into a directory of its own; the results file it wrote, parsed. */
async function quickRun(script: string, results: string, args: string[] = []) {
  const out = join(testEnv().workDir, uniqueName(script.replace(':', '_')));
  await exec('npm', ['run', '-s', script, '--', '--quick', ...args, '--out', out], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(readFileSync(join(out, 'results', `${results}.json`), 'utf8'));
}

/**
 * `npm run bench -- --quick` end to end: every scenario runs against its real parts and
 * reports a figure. Only that figures exist is asserted — never how fast they are (speed
 * targets live in stress-testing/RESULTS.md, measured by the full run).
 */
describe('benchmark harness (quick smoke run)', function () {
  this.timeout(600_000);

  it('produces every figure, ratio and target line', async () => {
    const r = await quickRun('bench', 'latest-quick');
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
      f.memory.apiPeakRssMiB,
      f.memory.etlPeakRssMiB,
    ];
    for (const v of positive) expect(v).to.be.a('number').and.greaterThan(0);
    expect(f.apiSingle.steps.length).to.be.greaterThan(1);
    expect(Object.values(r.ratios).every((v) => typeof v === 'number' && v > 0)).to.equal(true);
    expect(r.targets).to.have.length(6);
  });

  it('runs the experiments benchmark: every traffic shape reports latency and throughput', async () => {
    const r = await quickRun('bench:experiments', 'experiments-latest-quick');
    const rootDisk = blockDeviceOf('/');
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
      // The disk under the database was watched over the window (none where no block device holds /).
      if (rootDisk === undefined) expect(w.disk).to.equal(undefined);
      else {
        expect(w.disk.device).to.equal(rootDisk);
        expect(w.disk.stallsOver10ms).to.be.a('number').and.at.least(0);
        expect(w.disk.longestStallMs).to.be.a('number').and.at.least(0);
      }
      // PostgreSQL's WAL was read over the window: registering new devices writes to it.
      expect(w.wal.fullPageImages).to.be.at.least(0).and.at.most(w.wal.records);
      if (p.name === 'new devices') expect(w.wal.records, `${p.rate}/s`).to.be.greaterThan(0);
    }
    expect(r.database.assignments).to.be.greaterThan(0);
  });

  it('runs the segments benchmark: rollout time and read latency over seeded users', async () => {
    const r = await quickRun('bench:segments', 'segments-latest-quick');
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
    // The C generator sent it, and the API's own view of the same window was read back.
    expect(w.load.generator).to.equal('native');
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

  it("runs the disk benchmark: the disk's flushes, its stalls and a commit lane's floor", async () => {
    const r = await quickRun('bench:disk', 'disk-latest-quick');
    expect(r.windows).to.have.length(1);
    const w = r.windows[0];
    // 2 s at 1,000 flushes a second, each timed; the lane's arrivals at 2,000 a second over them.
    expect(w.flushes).to.equal(2000);
    expect(w.flush.p50Ms).to.be.greaterThan(0);
    expect(w.flush.maxMs).to.be.at.least(w.flush.p99Ms);
    expect(w.lane.arrivals).to.be.within(3900, 4000);
    expect(w.lane.p99Ms).to.be.at.least(w.flush.p50Ms);
    expect(w.stalls.device).to.equal(blockDeviceOf(tmpdir()));
  });

  it('runs the device-load benchmark: both paths, new and known devices; a read writes no WAL', async () => {
    const r = await quickRun('bench:device-load', 'device-load-latest-quick', ['--batches', '1,7']);
    expect(r.rows).to.have.length(2 * 2 * 2);
    for (const row of r.rows) {
      expect(row.cpuUsPerDevice, row.path).to.be.a('number').and.at.least(0);
      expect(row.wallUsPerCall).to.be.greaterThan(0);
      // Registering writes the device and its assignments; reading known devices writes nothing.
      if (row.devices === 'new') expect(row.walBytesPerDevice).to.be.greaterThan(0);
      else expect(row.walBytesPerDevice).to.equal(0);
    }
  });
});
