import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import { clickHouseOptions, createClickHouse } from '../clickhouse/client.js';
import { loadConfig, redactedConfig, type Config } from '../config/config.js';
import { maskUrlCredentials } from '../config/mask-url.js';
import { createKafka, kafkaClientOptions } from '../kafka/client.js';
import { createLogger, type Logger } from '../log.js';
import { createMetrics, type Metrics } from '../metrics/registry.js';

export interface ProcessBase {
  config: Config;
  log: Logger;
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  metrics: Metrics;
}

/** Config, logger and clients every process entry point starts from. */
export async function createProcessBase(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProcessBase> {
  const config = loadConfig(env);
  const log = createLogger({ level: config.process.logLevel, pretty: config.process.logPretty, name });
  log.info({ config: redactedConfig(config) }, 'config_loaded');
  const kafka = createKafka(kafkaClientOptions(config, name), log);
  const clickhouse = await createClickHouse(clickHouseOptions(config));
  return { config, log, kafka, clickhouse, metrics: createMetrics({ service: name }) };
}

/**
 * Entry points end here once every service stopped. NOTE: explicit exit: client libraries
 * (kafkajs reconnect timers, the embedded engine's threads) may keep the event loop alive
 * after a clean stop, and a stopped process must not linger.
 */
export function exitWhenStopped(): never {
  process.exit(0);
}

/** Entry points end here: log the reason a process could not run, exit non-zero. */
export function exitOnFatal(err: unknown): never {
  // The logger may not exist yet (bad config): plain stderr, one JSON line. A driver's
  // message may quote the URL it could not reach, password included.
  const error = maskUrlCredentials(err instanceof Error ? err.message : String(err));
  process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: 'process_failed', error })}\n`);
  process.exit(1);
}
