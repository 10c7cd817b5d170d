import { expect } from 'chai';
import {
  describeVitals,
  judgeWindows,
  windowMet,
  windowsTable,
  type MeasuredWindow,
} from '../../stress-testing/src/measured-window.js';
import type { OpenLoopResult } from '../../stress-testing/src/open-loop.js';

const target = { rps: 2000, p99Ms: 10 };

function load(over: Partial<OpenLoopResult> = {}): OpenLoopResult {
  return {
    rate: 2000,
    sent: 20_000,
    completed: 20_000,
    achievedPerSec: 2000,
    p50Ms: 0.4,
    p90Ms: 0.7,
    p99Ms: 4,
    p999Ms: 12,
    maxMs: 30,
    non2xx: 0,
    errors: 0,
    generator: 'native',
    generatorCpuUsPerRequest: 40,
    sendLagP99Ms: 0.1,
    sendLagMaxMs: 1,
    ...over,
  };
}

function windowOf(
  over: Partial<OpenLoopResult> = {},
  disk?: MeasuredWindow['disk'],
  wal?: MeasuredWindow['wal'],
): MeasuredWindow {
  return {
    load: load(over),
    api: {
      requests: 20_000,
      serverOver10msShare: 0,
      gcMs: 100,
      gcShare: 0.01,
      eventLoopDelayP99Ms: 1,
      eventLoopDelayMaxMs: 5,
      runQueueWaitMs: 30,
      majorGcs: 2,
      cpuCores: 0.4,
      cpuSystemCores: 0.02,
      pgStatementsPerRequest: 0.5,
      pgKeysPerStatement: 2,
      pgWaitOver10msShare: 0,
    },
    machine: { busy: 0.5, steal: 0, coresByCommand: {}, runQueueWaitMsByCommand: {}, diskReadMiB: 0 },
    disk,
    wal,
    control: load({ rate: 200, achievedPerSec: 200, p99Ms: 1 }),
  };
}

describe('measured windows: a latency target judged over repeated windows', () => {
  it('a window meets the target only at the target rate, achieved, without errors, p99 within', () => {
    expect(windowMet(load(), target)).to.equal(true);
    expect(windowMet(load({ p99Ms: 10 }), target)).to.equal(true);
    expect(windowMet(load({ p99Ms: 10.01 }), target)).to.equal(false);
    expect(windowMet(load({ rate: 1000, achievedPerSec: 1000 }), target)).to.equal(false);
    expect(windowMet(load({ achievedPerSec: 1900 }), target)).to.equal(false);
    expect(windowMet(load({ non2xx: 1 }), target)).to.equal(false);
    expect(windowMet(load({ errors: 1 }), target)).to.equal(false);
  });

  it('met only when every window met; reports median and worst p99', () => {
    const all = judgeWindows(
      [windowOf({ p99Ms: 6 }), windowOf({ p99Ms: 3 }), windowOf({ p99Ms: 9 })],
      target,
    );
    expect(all).to.include({ p99MedianMs: 6, p99WorstMs: 9, metWindows: 3, met: true });
    const one = judgeWindows(
      [windowOf({ p99Ms: 3 }), windowOf({ p99Ms: 40 }), windowOf({ p99Ms: 5 })],
      target,
    );
    expect(one).to.include({ p99MedianMs: 5, p99WorstMs: 40, metWindows: 2, met: false });
    // The windows stay in the order they ran.
    expect(one.windows.map((w) => w.load.p99Ms)).to.deep.equal([3, 40, 5]);
  });

  it('renders a window table whose header, separator and rows have the same cells', () => {
    const lines = windowsTable([{ label: 'cached 1', window: windowOf(), verdict: 'met' }]).split('\n');
    const cells = lines.map((line) => line.split('|').length);
    expect(lines).to.have.length(3);
    expect(cells[1]).to.equal(cells[0]);
    expect(cells[2]).to.equal(cells[0]);
    expect(lines[2]).to.contain('| 200 |'); // API CPU µs/req: 0.4 cores at 2,000 req/s
    expect(lines[2]).to.contain('| 30 | 2 |'); // loop waited for CPU ms, major GCs
    expect(lines[2]).to.contain('| – | – | 50.0% |'); // no disk watched, no WAL read, then machine busy
  });

  it("shows the disk's stalls of a window where the disk was watched", () => {
    const disk = { device: 'vda', stallsOver10ms: 2, longestStallMs: 269.4, stalledMs: 301 };
    const row = windowsTable([{ label: 'new 1', window: windowOf({}, disk), verdict: 'missed' }]).split(
      '\n',
    )[2];
    expect(row).to.contain('| 2 (269.4) | – | 50.0% |');
    expect(describeVitals(windowOf({}, disk))).to.contain('disk stalls ≥ 10 ms 2 (269.4)');
    expect(describeVitals(windowOf())).to.contain('disk stalls ≥ 10 ms –');
  });

  it("shows the WAL's bytes per request, its full-page images and a checkpoint that started in the window", () => {
    // windowOf's load completed 20,000 requests.
    const wal = {
      records: 230_000,
      fullPageImages: 1897,
      bytes: 32_417_879,
      syncs: 11_568,
      checkpoints: 1,
      connectionsOpened: 0,
    };
    const row = windowsTable([
      { label: 'new 3', window: windowOf({}, undefined, wal), verdict: 'missed' },
    ]).split('\n')[2];
    expect(row).to.contain('| – | 1.58 KB/req (1,897 full-page images, checkpoint started) | 50.0% |');
    const quiet = { ...wal, bytes: 22_528_000, fullPageImages: 0, checkpoints: 0 };
    expect(describeVitals(windowOf({}, undefined, quiet))).to.contain(
      'WAL 1.10 KB/req (0 full-page images);',
    );
    const idle = { records: 0, fullPageImages: 0, bytes: 0, syncs: 0, checkpoints: 2, connectionsOpened: 0 };
    expect(describeVitals(windowOf({}, undefined, idle))).to.contain(
      'WAL 0.00 KB/req (0 full-page images, checkpoint ×2)',
    );
  });

  it('names the connections opened to the database in a window, and says nothing when none was', () => {
    const idle = { records: 0, fullPageImages: 0, bytes: 0, syncs: 0, checkpoints: 0, connectionsOpened: 0 };
    const wal = { ...idle, records: 1000, bytes: 1_024_000, syncs: 500, connectionsOpened: 1 };
    expect(describeVitals(windowOf({}, undefined, wal))).to.contain(
      'WAL 0.05 KB/req (0 full-page images, 1 connection opened);',
    );
    expect(
      describeVitals(windowOf({}, undefined, { ...wal, checkpoints: 1, connectionsOpened: 3 })),
    ).to.contain('(0 full-page images, checkpoint started, 3 connections opened)');
    expect(describeVitals(windowOf({}, undefined, { ...wal, connectionsOpened: 0 }))).to.contain(
      'WAL 0.05 KB/req (0 full-page images);',
    );
  });

  it('refuses to judge no windows at all', () => {
    expect(() => judgeWindows([], target)).to.throw(/no windows/);
  });
});
