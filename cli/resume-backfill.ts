import { parseArgs } from 'node:util';
import { createClient } from '@clickhouse/client';
import { BACKFILL_BATCH_ROWS, backfillResume } from '../api/src/progress/resume-backfill.js';
import { ResumeStore } from '../api/src/progress/resume-store.js';
import { clickHouseOptions, createClickHouse, type ClickHouseClient } from '../lib/clickhouse/client.js';
import { loadConfig, type Config } from '../lib/config/config.js';
import { maskUrlCredentials } from '../lib/config/mask-url.js';
import { createPostgres } from '../lib/db/postgres-services.js';
import { createLogger } from '../lib/log.js';
import { analystEndpoint, endpointAnswers } from '../lib/sql-http/analyst-endpoint.js';

const USAGE = `usage:
  npm run resume:backfill [-- --batch <rows>]
      copy every position of ClickHouse's progress_latest into the resume read model
      (progress_resume in PostgreSQL) with the projection's upsert: a stored position is
      replaced only by a newer one, so it is safe to run twice and while the API runs.
      Positions past RESUME_RETENTION_DAYS are skipped.
      Reads CLICKHOUSE_URL when set; else the SQL endpoint of a running \`npm start\`
      (SQL_URL or SQL_HTTP_HOST/PORT); else the embedded engine's CLICKHOUSE_DATA_DIR.
      --batch: rows per page and per upsert (default ${BACKFILL_BATCH_ROWS})`;

/**
 * Where to read progress_latest. The embedded engine's data directory belongs to one process
 * at a time: while `npm start` runs, this goes through its read-only SQL endpoint instead.
 */
async function openSource(config: Config): Promise<{ client: ClickHouseClient; what: string }> {
  const opts = clickHouseOptions(config);
  if (opts.url !== undefined) {
    return { client: await createClickHouse(opts), what: `ClickHouse at ${maskUrlCredentials(opts.url)}` };
  }
  const endpoint = analystEndpoint(config);
  if (await endpointAnswers(endpoint.url)) {
    const client = createClient({
      url: endpoint.url,
      username: endpoint.user,
      password: endpoint.password,
      request_timeout: opts.requestTimeoutMs,
      compression: { request: false, response: false },
    });
    return { client, what: `the SQL endpoint of the running \`npm start\` (${endpoint.url})` };
  }
  try {
    return { client: await createClickHouse(opts), what: `the embedded engine in ${opts.dataDir}` };
  } catch (err) {
    if ((err as { code?: string }).code !== 'CHDB_CONNECTION') throw err;
    throw new Error(
      `cannot open the embedded engine's data directory ${opts.dataDir}: another process holds it ` +
        `(a running \`npm start\` or \`npm run start:standalone\`), and no SQL endpoint answers at ${endpoint.url}. ` +
        'Run this while `npm start` runs with its SQL endpoint on (SQL_URL if the banner printed one), or stop that process first.',
      { cause: err },
    );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { batch: { type: 'string' } } });
  const batchRows = values.batch === undefined ? BACKFILL_BATCH_ROWS : Number(values.batch);
  if (!Number.isSafeInteger(batchRows) || batchRows < 1 || batchRows > 100_000) {
    process.stderr.write(`--batch must be an integer between 1 and 100000\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const config = loadConfig();
  const log = createLogger({ level: 'warn', pretty: false, name: 'resume-backfill' }, process.stderr);
  const source = await openSource(config);
  const postgres = createPostgres(config, 'resume-backfill', log);
  try {
    // Creates the database and migrates, like an API start: progress_resume exists afterwards.
    for (const s of postgres.services) await s.start();
    process.stdout.write(`reading ${config.clickhouse.database}.progress_latest from ${source.what}\n`);
    // Older positions would only be deleted by the next retention run.
    const days = config.resume.retentionDays;
    const watchedSince = days > 0 ? new Date(Date.now() - days * 86_400_000) : undefined;
    if (watchedSince !== undefined)
      process.stdout.write(
        `positions last watched before ${watchedSince.toISOString()} are skipped (RESUME_RETENTION_DAYS=${days})\n`,
      );
    const started = performance.now();
    const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
    const done = await backfillResume({
      clickhouse: source.client,
      database: config.clickhouse.database,
      store: new ResumeStore(postgres.pool, config.resume),
      batchRows,
      watchedSince,
      onBatch: (p) => {
        if (p.batches % 20 === 0)
          process.stderr.write(`  ${p.read} positions read, ${p.written} written (${seconds()} s)\n`);
      },
    });
    process.stdout.write(
      `${done.read} positions read from progress_latest, ${done.written} written to progress_resume ` +
        `(new, or newer than the stored one), ${done.read - done.written} left as they were ` +
        `(the stored position was as new or newer, or the viewer is erased); ${done.batches} batches in ${seconds()} s\n`,
    );
  } finally {
    await source.client.close();
    await postgres.pool.end();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`resume:backfill: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
