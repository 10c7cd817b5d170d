import { expect } from 'chai';
import { coresBetween, runQueueWaitMsBetween, type ProcessCpu } from '../../stress-testing/src/cpu.js';

const snapshot = (rows: Array<[pid: string, name: string, cpuSeconds: number]>) =>
  new Map<string, ProcessCpu>(rows.map(([pid, name, cpuSeconds]) => [pid, { name, cpuSeconds }]));

describe('coresBetween (bench CPU per command)', () => {
  it('sums per-process differences by command name over the window', () => {
    const start = snapshot([
      ['10', 'postgres', 100],
      ['11', 'postgres', 5],
      ['20', 'node', 50],
    ]);
    const end = snapshot([
      ['10', 'postgres', 103],
      ['11', 'postgres', 7],
      ['20', 'node', 60],
    ]);
    expect(coresBetween(start, end, 10)).to.deep.equal({ node: 1, postgres: 0.5 });
  });

  it('is not emptied by a long-lived process that exits in the window', () => {
    // Backend 10 had used 100 s before the window and closed during it: summed by name
    // first, PostgreSQL read 5 - 105 (negative, dropped as 0 cores).
    const start = snapshot([
      ['10', 'postgres', 100],
      ['11', 'postgres', 5],
    ]);
    const end = snapshot([['11', 'postgres', 10]]);
    expect(coresBetween(start, end, 10)).to.deep.equal({ postgres: 0.5 });
  });

  it('counts a process started in the window whole, and a reused pid as new', () => {
    const start = snapshot([['30', 'kafka', 400]]);
    const end = snapshot([
      ['30', 'postgres', 2],
      ['31', 'postgres', 1],
    ]);
    expect(coresBetween(start, end, 10)).to.deep.equal({ postgres: 0.3 });
  });

  it('leaves out commands under 0.01 cores and orders the rest largest first', () => {
    const start = snapshot([
      ['1', 'a', 0],
      ['2', 'b', 0],
      ['3', 'c', 0],
    ]);
    const end = snapshot([
      ['1', 'a', 0.05],
      ['2', 'b', 9],
      ['3', 'c', 1],
    ]);
    expect(Object.entries(coresBetween(start, end, 10))).to.deep.equal([
      ['b', 0.9],
      ['c', 0.1],
    ]);
  });

  it('sums run-queue wait per command the same way, in ms, and leaves out processes without schedstat', () => {
    const at = (rows: Array<[pid: string, name: string, wait: number | undefined]>) =>
      new Map<string, ProcessCpu>(
        rows.map(([pid, name, wait]) => [pid, { name, cpuSeconds: 0, runQueueWaitSeconds: wait }]),
      );
    const start = at([
      ['10', 'postgres', 50],
      ['11', 'postgres', 1],
      ['20', 'node', 2],
      ['30', 'java', undefined],
    ]);
    const end = at([
      // 10 exited in the window: not counted (its lifetime would be subtracted otherwise).
      ['11', 'postgres', 1.25],
      ['12', 'postgres', 0.05], // started in the window: counted whole
      ['20', 'node', 2.0004], // under 1 ms: left out
      ['30', 'java', undefined],
    ]);
    expect(runQueueWaitMsBetween(start, end)).to.deep.equal({ postgres: 300 });
  });
});
