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
  const client = await createClickHouse(clickHouseOptions(config));
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
