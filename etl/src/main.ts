// NOTE: first import: the APM agent must hook module loading before anything else loads.
import '../../lib/apm/start.js';
import { allTopicSpecs } from '../../lib/kafka/topic-specs.js';
import { runServices, type Service } from '../../lib/lifecycle.js';
import { clickhouseService, migrationsStep, topicsStep } from '../../lib/runtime/services.js';
import { createProcessBase, exitOnFatal, exitWhenStopped } from '../../lib/runtime/process.js';
import { buildEtl } from './build-etl.js';
import { MetricsServer } from '../../lib/metrics/metrics-server.js';

/**
 * ETL process: Kafka → ClickHouse. Without CLICKHOUSE_URL it writes to the embedded engine's
 * data directory, which then belongs to this process alone (use the standalone mode to
 * serve reads from it too).
 */
async function main(): Promise<void> {
  const { config, log, kafka, clickhouse, metrics } = await createProcessBase('etl');
  const services: Service[] = [
    clickhouseService(clickhouse),
    new MetricsServer(metrics.registry, config.host, config.etlMetricsPort),
  ];
  if (config.etlMigrateOnStart) services.push(migrationsStep(clickhouse, config, log));
  services.push(
    topicsStep(kafka, allTopicSpecs(config)),
    ...buildEtl(config, { kafka, clickhouse, log, metrics }).services,
  );
  await runServices(services, log, config.shutdownTimeoutMs, config.startupTimeoutMs);
}

main().then(exitWhenStopped, exitOnFatal);
