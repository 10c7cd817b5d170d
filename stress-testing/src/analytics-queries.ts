import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalystEngine } from '../../lib/sql-http/engine.js';
import { ROOT } from './proc.js';

/** One of the ready queries of docs/analytics.md, with its form over the raw events when it reads an aggregate. */
export interface ReadyQuery {
  n: number;
  title: string;
  sql: string;
  raw: string | undefined;
}

export const ANALYTICS_DOC = join(ROOT, 'docs/analytics.md');

/**
 * The queries as the guide prints them, so what is measured and tested is what analysts copy:
 * the first sql block after `## Ready queries`, and the first after `### The same over the
 * raw events`, each split at its `-- N. title` comments.
 */
export function analyticsQueries(markdown = readFileSync(ANALYTICS_DOC, 'utf8')): ReadyQuery[] {
  const raw = new Map(
    numbered(sqlBlockAfter(markdown, '### The same over the raw events')).map((q) => [q.n, q.sql]),
  );
  return numbered(sqlBlockAfter(markdown, '## Ready queries')).map((q) => ({ ...q, raw: raw.get(q.n) }));
}

function sqlBlockAfter(markdown: string, heading: string): string {
  const at = markdown.indexOf(`\n${heading}\n`);
  const block = at < 0 ? null : /```sql\n([\s\S]*?)```/.exec(markdown.slice(at));
  if (block === null) throw new Error(`docs/analytics.md: no sql block after "${heading}"`);
  return block[1]!;
}

function numbered(block: string): Array<{ n: number; title: string; sql: string }> {
  return block
    .split(/^(?=-- \d+\. )/m)
    .filter((part) => part.startsWith('-- '))
    .map((part) => {
      const [, n, title, sql] = /^-- (\d+)\. (.*)\n([\s\S]*)$/.exec(part)!;
      return { n: Number(n), title: title!, sql: sql!.trim().replace(/;$/, '') };
    });
}

/** A query's whole TSV answer through one of the SQL endpoint's read-only connections. */
export async function analystAnswer(
  engine: AnalystEngine,
  database: string,
  sql: string,
  params: Record<string, string>,
): Promise<string> {
  const lease = engine.acquire();
  try {
    const r = await lease.stream(sql, {
      database,
      format: 'TSV',
      signal: AbortSignal.timeout(600_000),
      params,
    });
    const chunks: Buffer[] = [];
    for (let c = await r.chunks.next(); c.done !== true; c = await r.chunks.next())
      chunks.push(Buffer.from(c.value));
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    lease.release();
  }
}
