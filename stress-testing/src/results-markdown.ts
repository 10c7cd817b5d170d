import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from './load.js';
import { ROOT } from './proc.js';
import type { BenchResults } from './report.js';

const ANALYSIS = join(ROOT, 'stress-testing', 'analysis.md');

/** A first draft of RESULTS.md from the figures; the analysis section is written by hand. */
export function renderResultsMarkdown(r: BenchResults): string {
  const steps = (r.figures.apiSingle as { steps: LoadResult[] }).steps.map(
    (s) => `| ${s.connections} | ${s.eventsPerSec} | ${s.p50Ms} | ${s.p99Ms} | ${s.errors + s.non2xx} |`,
  );
  const rows = r.targets.map(
    (t) => `| ${t.name} | ${t.target} | ${t.measured} | ${t.met ? 'met' : '**not met**'} |`,
  );
  return [
    '# Stress-testing results',
    '',
    `Run ${r.date} on ${String(r.machine.cores)} cores (${String(r.machine.cpu)}), ${String(r.machine.memoryGiB)} GiB; load generator on the same cores.`,
    `Versions: ${Object.entries(r.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    'Regenerate: `npm run bench` (writes results/<date>.json, results/latest.json, results/latency.svg and this table).',
    '',
    '## Targets',
    '',
    '| Figure | Target | Measured | |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    '## Ratios to the limits measured in the same run',
    '',
    '| Ratio | Value |',
    '| --- | --- |',
    ...Object.entries(r.ratios).map(([k, v]) => `| ${k} | ${v} |`),
    '',
    '## API single events, by concurrency',
    '',
    '![latency against load](results/latency.svg)',
    '',
    '| Connections | Accepted events/s | p50 ms | p99 ms | Errors |',
    '| --- | --- | --- | --- | --- |',
    ...steps,
    '',
    // Explanations and the analysis of the walls, written by hand (stress-testing/analysis.md).
    existsSync(ANALYSIS) ? readFileSync(ANALYSIS, 'utf8') : '',
    '## All figures',
    '',
    '```json',
    JSON.stringify(r.figures, null, 2),
    '```',
    '',
  ].join('\n');
}
