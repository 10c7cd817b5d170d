/**
 * The API as a benchmark target: the real app (buildApi) in its own process, with the
 * embedded engine for reads (the API process refuses that in production, where reads go
 * to a ClickHouse server). Runs migrations first so the read path has its tables.
 */
import { buildApi } from '../../api/src/build-api.js';
import { allTopicSpecs } from '../../lib/kafka/topic-specs.js';
import { runServices } from '../../lib/lifecycle.js';
import { createProcessBase, exitOnFatal, exitWhenStopped } from '../../lib/runtime/process.js';
import { createPostgres } from '../../lib/db/postgres-services.js';
import { clickhouseService, migrationsStep, topicsStep } from '../../lib/runtime/services.js';

async function main(): Promise<void> {
  const { config, log, kafka, clickhouse, metrics } = await createProcessBase('bench-api');
  const postgres = createPostgres(config, 'bench-api', log);
  const api = buildApi(config, { kafka, clickhouse, log, metrics, pool: postgres.pool });
  await runServices(
    [
      clickhouseService(clickhouse),
      migrationsStep(clickhouse, config, log),
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
