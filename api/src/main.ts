// NOTE: first import: the APM agent must hook module loading before anything else loads.
import '../../lib/apm/start.js';
import { ConfigError } from '../../lib/errors.js';
import { allTopicSpecs } from '../../lib/kafka/topic-specs.js';
import { runServices } from '../../lib/lifecycle.js';
import { clickhouseService, topicsStep } from '../../lib/runtime/services.js';
import { createProcessBase, exitOnFatal, exitWhenStopped } from '../../lib/runtime/process.js';
import { createPostgres } from '../../lib/db/postgres-services.js';
import { warnOnMissingApiNodeFlags } from '../../lib/runtime/node-flags.js';
import { buildApi } from './build-api.js';

/** API process: HTTP → Kafka, resume reads from a ClickHouse server. */
async function main(): Promise<void> {
  const { config, log, kafka, clickhouse, metrics } = await createProcessBase('api');
  warnOnMissingApiNodeFlags(log);
  if (config.clickhouseUrl === undefined) {
    // chdb binds its data directory to one process; the ETL must share it.
    throw new ConfigError(
      'CLICKHOUSE_URL',
      '',
      'a ClickHouse server URL (or run the standalone mode: npm start)',
    );
  }
  const postgres = createPostgres(config, 'api', log);
  const api = buildApi(config, { kafka, clickhouse, log, metrics, pool: postgres.pool });
  await runServices(
    [
      clickhouseService(clickhouse),
      ...postgres.services,
      topicsStep(kafka, allTopicSpecs(config)),
      ...api.services,
    ],
    log,
    config.shutdownTimeoutMs,
    config.startupTimeoutMs,
  );
}

main().then(exitWhenStopped, exitOnFatal);
