import type pg from 'pg';

/**
 * A digest of each table's whole content (every public table unless named): what a reached
 * handler could have written, compared before and after a request.
 */
export async function tableDigests(
  pool: pg.Pool,
  tables?: readonly string[],
): Promise<Record<string, string>> {
  const names =
    tables ??
    (
      await pool.query<{ name: string }>(
        `SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
      )
    ).rows.map((r) => r.name);
  const out: Record<string, string> = {};
  for (const name of names) {
    const { rows } = await pool.query<{ digest: string }>(
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest FROM ${name} t`,
    );
    out[name] = rows[0]!.digest;
  }
  return out;
}
