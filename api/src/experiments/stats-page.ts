import type { ExperimentStats, StatsReport } from '../../../lib/contracts/experiment.js';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Every value that reaches the page goes through here (values are admin input). */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function completionCell(o: ExperimentStats['options'][number]): string {
  const c = o.completion;
  if (c === null) return '<td class="completion">unavailable</td>';
  if (c.mean === null) return '<td class="completion">no viewers yet</td>';
  const interval =
    c.ci95_low === null
      ? ''
      : ` <span class="ci">[${pct(Math.max(0, c.ci95_low))} – ${pct(Math.min(1, c.ci95_high!))}]</span>`;
  return `<td class="completion">${pct(c.mean)}${interval} <span class="n">n=${c.viewers}</span></td>`;
}

function experimentSection(e: ExperimentStats): string {
  const srm = e.srm.mismatch
    ? `<p class="srm bad" data-srm="mismatch">Sample ratio mismatch: χ² = ${e.srm.chi_square.toFixed(2)}, p = ${e.srm.p_value.toExponential(2)}. The split does not match the weights; do not trust the results until the cause is found.</p>`
    : `<p class="srm ok" data-srm="ok">No sample ratio mismatch (χ² = ${e.srm.chi_square.toFixed(2)}, p = ${e.srm.p_value.toFixed(3)}).</p>`;
  const rows = e.options
    .map(
      (o) => `<tr data-option="${o.index}">
        <td class="value"><code>${escapeHtml(JSON.stringify(o.value))}</code></td>
        <td class="devices">${o.devices}</td>
        <td class="share">${pct(o.share)}</td>
        <td class="target">${pct(o.target_share)}</td>
        ${completionCell(o)}
      </tr>`,
    )
    .join('\n');
  return `<section data-experiment="${escapeHtml(e.key)}">
    <h2>${escapeHtml(e.key)} <span class="status ${e.status}">${e.status}</span></h2>
    <p>Total devices: <strong class="total">${e.total_devices}</strong> · started ${escapeHtml(e.created_at)}</p>
    ${srm}
    <table>
      <thead><tr><th>Option</th><th>Devices</th><th>Share</th><th>Target</th><th>Watch completion (95% CI)</th></tr></thead>
      <tbody>
      ${rows}
      </tbody>
    </table>
  </section>`;
}

/** The stats page: plain server-rendered HTML, readable without JavaScript. */
export function statsPage(report: StatsReport): string {
  const body =
    report.experiments.length === 0
      ? '<p>No experiments yet.</p>'
      : report.experiments.map(experimentSection).join('\n');
  const note = report.completion_available
    ? ''
    : '<p class="warn">Watch completion is unavailable right now (ClickHouse did not answer); device counts are current.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Experiment stats</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1d1d1f; }
  table { border-collapse: collapse; width: 100%; margin-bottom: 2rem; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; }
  td.devices, td.share, td.target { font-variant-numeric: tabular-nums; }
  .status { font-size: .8rem; padding: .1rem .4rem; border-radius: .3rem; background: #e8f5e9; }
  .status.stopped { background: #eee; }
  .srm.bad { color: #b00020; font-weight: 600; }
  .srm.ok { color: #2e7d32; }
  .ci, .n { color: #666; font-size: .85rem; }
  .warn { background: #fff3cd; padding: .5rem; }
</style>
</head>
<body>
<h1>Experiment stats</h1>
<p>Generated ${escapeHtml(report.generated_at)}. Devices are assignments of record; SRM flags p &lt; ${report.srm_threshold} (chi-square against the target weights). Completion: mean of last position ÷ duration over films watched after a viewer's first exposure. Also as <a href="/api/v1/experiments/stats">JSON</a> and <a href="/api/v1/experiments/stats.csv">CSV</a>.</p>
${note}
${body}
</body>
</html>
`;
}
