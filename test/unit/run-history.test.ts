import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { MeasuredWindow } from '../../stress-testing/src/measured-window.js';
import {
  appendHistory,
  historyTable,
  readHistory,
  summariseRun,
  type RunSummary,
} from '../../stress-testing/src/run-history.js';

function win(
  p99Ms: number,
  cpuCores: number,
  runQueueWaitMs: number | undefined,
  steal: number,
  diskStalls?: number,
): MeasuredWindow {
  return {
    load: { achievedPerSec: 2000, p99Ms } as MeasuredWindow['load'],
    api: { cpuCores, runQueueWaitMs } as MeasuredWindow['api'],
    machine: { busy: 0.5, steal, coresByCommand: {}, runQueueWaitMsByCommand: {}, diskReadMiB: 0 },
    disk:
      diskStalls === undefined
        ? undefined
        : { device: 'vda', stallsOver10ms: diskStalls, longestStallMs: 20, stalledMs: 20 * diskStalls },
    wal: undefined,
    control: {} as MeasuredWindow['control'],
  };
}

describe('benchmark run history', () => {
  const run = { date: '2026-11-23T16:40:01.031Z', commit: 'abc1234', cpu: 'AMD EPYC' };

  it('summarises each phase by medians over its windows and the worst steal', () => {
    const windows = [win(4, 0.5, 400, 0.001), win(30, 0.7, 900, 0.095), win(8, 0.6, 500, 0)];
    const s = summariseRun(run, [
      { name: 'cached', windows, metWindows: 2, p99MedianMs: 8, p99WorstMs: 30, met: false },
    ]);
    expect(s.phases).to.deep.equal([
      {
        name: 'cached',
        windows: 3,
        met: 2,
        p99MedianMs: 8,
        apiUsPerRequest: 300, // median of 250, 350, 300
        runQueueWaitMs: 500,
        stealMaxPct: 9.5,
        diskStalls: null, // no window had its disk watched
      },
    ]);
  });

  it("sums the disk's stalls over the windows, when every window had its disk watched", () => {
    const phase = (windows: MeasuredWindow[]) =>
      summariseRun(run, [{ name: 'new', windows, metWindows: 0, p99MedianMs: 9, p99WorstMs: 9, met: false }])
        .phases[0]!.diskStalls;
    expect(phase([win(9, 0.5, 1, 0, 2), win(9, 0.5, 1, 0, 0), win(9, 0.5, 1, 0, 5)])).to.equal(7);
    expect(phase([win(9, 0.5, 1, 0, 2), win(9, 0.5, 1, 0)])).to.equal(null);
  });

  it('records no waiting figure for windows measured before the metric existed', () => {
    const s = summariseRun(run, [
      {
        name: 'cached',
        windows: [win(4, 0.5, undefined, 0)],
        metWindows: 1,
        p99MedianMs: 4,
        p99WorstMs: 4,
        met: true,
      },
    ]);
    expect(s.phases[0]!.runQueueWaitMs).to.equal(null);
  });

  it('appends runs to a file and reads them back in order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'history-'));
    try {
      const file = join(dir, 'h.jsonl');
      expect(readHistory(file)).to.deep.equal([]);
      const a: RunSummary = { ...run, commit: 'a', phases: [] };
      const b: RunSummary = { ...run, commit: 'b', phases: [] };
      appendHistory(file, a);
      appendHistory(file, b);
      expect(readHistory(file).map((r) => r.commit)).to.deep.equal(['a', 'b']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renders the last runs newest first, a dash for a shape a run did not have', () => {
    const phase = (name: string, met: number) => ({
      name,
      windows: 3,
      met,
      p99MedianMs: 9.9,
      apiUsPerRequest: 250,
      runQueueWaitMs: null,
      stealMaxPct: 0.1,
    });
    const runs: RunSummary[] = [
      { ...run, date: '2026-11-23T10:00:00.000Z', commit: 'old', phases: [phase('cached', 0)] },
      { ...run, date: '2026-11-23T11:00:00.000Z', commit: 'mid', phases: [phase('cached', 1)] },
      {
        ...run,
        date: '2026-11-23T12:00:00.000Z',
        commit: 'new',
        phases: [{ ...phase('cached', 3), runQueueWaitMs: 444, diskStalls: 4 }, phase('mixed', 2)],
      },
    ];
    const lines = historyTable(runs, 2).split('\n');
    expect(lines[0]).to.equal('| Run (UTC) | commit | host CPU | cached | mixed |');
    expect(lines.slice(2)).to.deep.equal([
      '| 2026-11-23 12:00 | new | AMD EPYC | 3/3 · p99 9.9 ms · 250 µs/req · waited 444 ms · steal ≤ 0.1% · disk stalls 4 | 2/3 · p99 9.9 ms · 250 µs/req · steal ≤ 0.1% |',
      '| 2026-11-23 11:00 | mid | AMD EPYC | 1/3 · p99 9.9 ms · 250 µs/req · steal ≤ 0.1% | – |',
    ]);
  });
});
