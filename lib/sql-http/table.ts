/** A JSONCompact result as the terminal client prints it: aligned columns, numbers right. */
export interface CompactResult {
  meta: { name: string; type: string }[];
  data: unknown[][];
  rows: number;
  statistics?: { elapsed: number; rows_read: number; bytes_read: number };
}

const NUMERIC = /^(U?Int|Float|Decimal)/;

function cell(v: unknown): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export function renderTable(r: CompactResult): string {
  const head = r.meta.map((m) => m.name);
  const body = r.data.map((row) => row.map(cell));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const right = r.meta.map((m) => NUMERIC.test(m.type.replace(/^(Nullable|LowCardinality)\(/, '')));
  const line = (cells: string[]) =>
    cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' │ ');
  const rule = widths.map((w) => '─'.repeat(w)).join('─┼─');
  return [line(head), rule, ...body.map(line)].join('\n');
}

export function renderFooter(r: CompactResult, ms: number): string {
  const rows = `${r.rows} row${r.rows === 1 ? '' : 's'}`;
  return `${rows} in ${(ms / 1000).toFixed(3)} s`;
}
