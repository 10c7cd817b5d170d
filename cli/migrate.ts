import { loadConfig } from '../lib/config/config.js';
import { clickHouseOptions, createClickHouse } from '../lib/clickhouse/client.js';
import { MIGRATIONS } from '../lib/clickhouse/migrations/index.js';
import { migrate } from '../lib/clickhouse/migrate.js';
import { createLogger } from '../lib/log.js';
import { exitOnFatal } from '../lib/runtime/process.js';

/** npm run migrate: apply pending ClickHouse migrations (the ETL also does this at start). */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger({
    level: config.process.logLevel,
    pretty: config.process.logPretty,
    name: 'migrate',
  });
  const opts = clickHouseOptions(config);
  const client = await createClickHouse(opts).catch((err: unknown) => {
    if (opts.url !== undefined || (err as { code?: string }).code !== 'CHDB_CONNECTION') throw err;
    throw new Error(
      `cannot open the embedded engine's data directory ${opts.dataDir}: another process holds it ` +
        '(a running `npm start` or `npm run start:standalone`, whose ETL applies pending migrations when it starts). ' +
        'Stop that process first, then run this.',
      { cause: err },
    );
  });
  try {
    const applied = await migrate(
      client,
      {
        database: config.clickhouse.database,
        cluster: config.clickhouse.cluster,
        ttlDays: config.clickhouse.ttlDays,
      },
      MIGRATIONS,
      log,
    );
    log.info({ applied }, 'migrations_done');
  } finally {
    await client.close();
  }
}

main().catch(exitOnFatal);
