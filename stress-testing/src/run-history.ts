/**
 * One line per full run of a windowed benchmark (results/<bench>-history.jsonl), rendered
 * as a table on its page. On this shared VM the same code meets a latency target in every
 * window of one run and in none of the next: a page showing only the latest run hides
 * that, the history shows the spread (and which commit each run measured).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { apiUsPerRequest, median, type RepeatedWindows } from './measured-window.js';
import { ROOT } from './proc.js';

export interface PhaseSummary {
  name: string;
  windows: number;
  met: number;
  p99MedianMs: number;
  /** Medians over the phase's windows. */
  apiUsPerRequest: number;
  /** Null for runs from before the metric existed. */
  runQueueWaitMs: number | null;
  stealMaxPct: number;
  /**
   * The disk's stalls of 10 ms or more over the phase's windows, summed (disk-probe.ts);
   * null where a window had no disk watched, absent in runs from before the metric existed.
   */
  diskStalls?: number | null;
}

export interface RunSummary {
  date: string;
  /** Short commit the run measured, `-dirty` when the tree had uncommitted changes. */
  commit: string;
  cpu: string;
  phases: PhaseSummary[];
}

/** The judged phases of a run, one summary each. */
export function summariseRun(
  run: { date: string; commit: string; cpu: string },
  phases: Array<{ name: string } & RepeatedWindows>,
): RunSummary {
  return {
    ...run,
    phases: phases.map((p) => ({
      name: p.name,
      windows: p.windows.length,
      met: p.metWindows,
      p99MedianMs: p.p99MedianMs,
      apiUsPerRequest: median(p.windows.map(apiUsPerRequest)),
      runQueueWaitMs: p.windows.every((w) => typeof w.api.runQueueWaitMs === 'number')
        ? median(p.windows.map((w) => w.api.runQueueWaitMs))
        : null,
      stealMaxPct: Math.round(Math.max(...p.windows.map((w) => w.machine.steal)) * 1000) / 10,
      diskStalls: p.windows.every((w) => w.disk !== undefined)
        ? p.windows.reduce((sum, w) => sum + (w.disk?.stallsOver10ms ?? 0), 0)
        : null,
    })),
  };
}

/** HEAD's short hash, marked dirty when tracked files differ from it. */
export function currentCommit(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  try {
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? '-dirty' : ''}`;
  } catch {
    return 'unknown';
  }
}

export function readHistory(file: string): RunSummary[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RunSummary);
}

export function appendHistory(file: string, run: RunSummary): void {
  appendFileSync(file, `${JSON.stringify(run)}\n`);
}

/** The last `limit` runs, newest first: per phase, windows met, p99 median, CPU and waiting. */
export function historyTable(runs: RunSummary[], limit = 12): string {
  const names = [...new Set(runs.flatMap((r) => r.phases.map((p) => p.name)))];
  const head =
    `| Run (UTC) | commit | host CPU | ${names.join(' | ')} |\n` +
    `| --- | --- | --- | ${names.map(() => '---').join(' | ')} |`;
  const rows = runs
    .slice(-limit)
    .reverse()
    .map((r) => {
      const cells = names.map((n) => {
        const p = r.phases.find((x) => x.name === n);
        if (p === undefined) return '–';
        const wait = p.runQueueWaitMs === null ? '' : ` · waited ${p.runQueueWaitMs} ms`;
        const disk = typeof p.diskStalls === 'number' ? ` · disk stalls ${p.diskStalls}` : '';
        return `${p.met}/${p.windows} · p99 ${p.p99MedianMs} ms · ${p.apiUsPerRequest} µs/req${wait} · steal ≤ ${p.stealMaxPct}%${disk}`;
      });
      return `| ${r.date.slice(0, 16).replace('T', ' ')} | ${r.commit} | ${r.cpu} | ${cells.join(' | ')} |`;
    });
  return [head, ...rows].join('\n');
}
