import { loadConfig } from '../config/config.js';
import { clickHouseOptions, createClickHouse } from '../clickhouse/client.js';
import { MIGRATIONS } from '../clickhouse/migrations/index.js';
import { migrate } from '../clickhouse/migrate.js';
import { createLogger } from '../log.js';
import { exitOnFatal } from '../runtime/process.js';

/** npm run migrate: apply pending ClickHouse migrations (the ETL also does this at start). */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, pretty: config.logPretty, name: 'migrate' });
  const client = await createClickHouse(clickHouseOptions(config));
  try {
    const applied = await migrate(
      client,
      {
        database: config.clickhouseDatabase,
        cluster: config.clickhouseCluster,
        ttlDays: config.clickhouseTtlDays,
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
