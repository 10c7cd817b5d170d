import type { StatsReport } from '../../../lib/contracts/experiment.js';

export const STATS_CSV_HEADER = [
  'experiment',
  'status',
  'total_devices',
  'srm_chi_square',
  'srm_p_value',
  'srm_mismatch',
  'option_index',
  'value',
  'devices',
  'share',
  'target_share',
  'completion_viewers',
  'completion_mean',
  'completion_ci95_low',
  'completion_ci95_high',
] as const;

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
export function csvField(value: string | number | boolean | null | undefined): string {
  const s = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per (experiment, option); experiment-level columns repeat (easy to pivot). */
export function statsCsv(report: StatsReport): string {
  const lines = [STATS_CSV_HEADER.join(',')];
  for (const e of report.experiments) {
    for (const o of e.options) {
      lines.push(
        [
          e.key,
          e.status,
          e.total_devices,
          e.srm.chi_square,
          e.srm.p_value,
          e.srm.mismatch,
          o.index,
          JSON.stringify(o.value),
          o.devices,
          o.share,
          o.target_share,
          o.completion?.viewers,
          o.completion?.mean,
          o.completion?.ci95_low,
          o.completion?.ci95_high,
        ]
          .map(csvField)
          .join(','),
      );
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
