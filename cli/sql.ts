import { createInterface } from 'node:readline/promises';
import { loadConfig } from '../lib/config/config.js';
import { analystEndpoint } from '../lib/sql-http/analyst-endpoint.js';
import { renderFooter, renderTable, type CompactResult } from '../lib/sql-http/table.js';

/**
 * npm run sql -- "SELECT ..."   one query, printed as an aligned table with rows and time
 * npm run sql                   interactive prompt (end a query with ;  quit with \q or Ctrl-D)
 * Talks to the analysts' SQL endpoint (SQL_HTTP_HOST/PORT) as SQL_HTTP_USER, with
 * SQL_HTTP_PASSWORD or the password `npm start` generated; SQL_URL overrides the address.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const { url: base, password } = analystEndpoint(config);
  const run = async (sql: string): Promise<boolean> => {
    const started = performance.now();
    const params = new URLSearchParams({
      database: config.clickhouse.database,
      default_format: 'JSONCompact',
    });
    const res = await fetch(`${base}/?${params.toString()}`, {
      method: 'POST',
      body: sql,
      headers: { 'X-ClickHouse-User': config.sqlHttp.user, 'X-ClickHouse-Key': password },
    }).catch(() => {
      throw new Error(
        `cannot reach ${base}: is \`npm start\` running? (SQL_HTTP_HOST/SQL_HTTP_PORT or SQL_URL)`,
      );
    });
    const text = await res.text();
    const ms = performance.now() - started;
    if (res.status !== 200 || res.headers.get('x-clickhouse-format') !== 'JSONCompact') {
      const out = res.status === 200 ? process.stdout : process.stderr;
      out.write(text.endsWith('\n') ? text : `${text}\n`);
      if (res.status === 200) process.stdout.write(`${(ms / 1000).toFixed(3)} s\n`);
      return res.status === 200;
    }
    const result = JSON.parse(text) as CompactResult;
    process.stdout.write(`${renderTable(result)}\n\n${renderFooter(result, ms)}\n`);
    return true;
  };

  const oneOff = process.argv.slice(2).join(' ').trim();
  if (oneOff !== '') {
    if (!(await run(oneOff))) process.exitCode = 1;
    return;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: 'sql> ' });
  process.stdout.write(
    `Connected to ${base} as ${config.sqlHttp.user} (read-only). End queries with ;  \\q quits.\n`,
  );
  let buffer = '';
  rl.prompt();
  for await (const line of rl) {
    if (buffer === '' && /^\s*(\\q|quit|exit)\s*;?\s*$/i.test(line)) break;
    buffer += `${line}\n`;
    if (/;\s*$/.test(line)) {
      const sql = buffer.trim().replace(/;\s*$/, '');
      buffer = '';
      await run(sql).catch((err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      });
    }
    rl.setPrompt(buffer === '' ? 'sql> ' : '  -> ');
    rl.prompt();
  }
  rl.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`sql: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
