import { chError } from './errors.js';

/**
 * Checks on a statement the engine has already parsed and re-printed (formatQuerySingleLine:
 * one statement, comments gone, keywords spelled canonically). The engine's readonly=1 is what
 * refuses writes; this layer refuses what readonly=1 still lets through on the embedded engine
 * (KILL QUERY, INTO OUTFILE) by allowing only reading statement kinds.
 */
const READING_STATEMENTS = /^\(*\s*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS|EXPLAIN)\b/i;

/**
 * The scalar `file(path)`: readonly=1 refuses the table function of that name, but the
 * embedded engine (clickhouse-local) lets the scalar read any file this process can, the
 * JWT secret and the analysts' own password among them. The engine's re-print spells the
 * name plainly (never quoted), so a call is this text in code.
 */
const FILE_CALL = /\bfile\s*\(/i;

/** Splits SQL into code and quoted parts ('literal', `ident`, "ident") so checks see only code. */
function segments(sql: string): { code: boolean; text: string }[] {
  const out: { code: boolean; text: string }[] = [];
  let i = 0;
  let start = 0;
  while (i < sql.length) {
    const q = sql[i]!;
    if (q === "'" || q === '`' || q === '"') {
      if (i > start) out.push({ code: true, text: sql.slice(start, i) });
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === '\\') j += 2;
        else if (sql[j] === q && sql[j + 1] === q) j += 2;
        else if (sql[j] === q) break;
        else j += 1;
      }
      out.push({ code: false, text: sql.slice(i, j + 1) });
      i = j + 1;
      start = i;
    } else i += 1;
  }
  if (start < sql.length) out.push({ code: true, text: sql.slice(start) });
  return out;
}

export function assertReadingStatement(normalized: string): void {
  if (!READING_STATEMENTS.test(normalized)) {
    const kind = /^\s*(\w+(?:\s+\w+)?)/.exec(normalized)?.[1]?.toUpperCase() ?? 'this statement';
    throw chError(
      'READONLY',
      `analyst: Cannot execute query in readonly mode: ${kind} is not a reading statement (allowed: SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN)`,
    );
  }
  for (const s of segments(normalized)) {
    if (s.code && /\bINTO\s+OUTFILE\b/i.test(s.text)) {
      throw chError('READONLY', 'analyst: Cannot execute query in readonly mode: INTO OUTFILE writes a file');
    }
    if (s.code && FILE_CALL.test(s.text)) {
      throw chError(
        'READONLY',
        "analyst: Cannot execute query in readonly mode: file() reads the server's files; load data through the pipeline instead",
      );
    }
  }
}

/**
 * The FORMAT clause of a normalized statement, if it names one: last, or followed only by a
 * SETTINGS clause (the engine's re-print keeps that order). Literals cannot match, and a
 * format named like a keyword comes backquoted (FORMAT `Values`).
 */
export function formatClause(normalized: string): string | undefined {
  const masked = segments(normalized)
    .map((p) => (p.code ? p.text : /^`[A-Za-z0-9_]+`$/.test(p.text) ? p.text : "'?'"))
    .join('');
  const m = /\bFORMAT\s+(?:`([A-Za-z0-9_]+)`|([A-Za-z0-9_]+))(?:\s+SETTINGS\b[\s\S]*)?\s*;?\s*$/i.exec(
    masked,
  );
  return m?.[1] ?? m?.[2];
}

/** Whether a normalized statement asks for WITH TOTALS (outside literals and quoted names). */
export function asksForTotals(normalized: string): boolean {
  return segments(normalized).some((p) => p.code && /\bWITH\s+TOTALS\b/i.test(p.text));
}

const CURRENT_USER = /\b(currentUser|current_user|user|session_user)\s*\(\s*\)/gi;

/**
 * The embedded engine runs every connection as its built-in `default` user, so the analyst's
 * name is substituted for currentUser() and its aliases (outside literals and quoted names),
 * keeping the column name clients expect.
 */
export function substituteCurrentUser(normalized: string, user: string): string {
  const literal = `'${user.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return segments(normalized)
    .map((s) =>
      s.code
        ? s.text.replace(CURRENT_USER, (call) => `(${literal} AS \`${call.replace(/`/g, '')}\`)`)
        : s.text,
    )
    .join('');
}
