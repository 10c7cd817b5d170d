import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import type { Config } from '../config/config.js';
import { MIGRATIONS } from '../clickhouse/migrations/index.js';
import { migrate } from '../clickhouse/migrate.js';
import { ensureTopics, type TopicSpec } from '../kafka/topics.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log.js';

/** One-shot startup step with nothing to stop. */
export function startupStep(name: string, run: () => Promise<void>): Service {
  return { name, start: run, stop: async () => {} };
}

export function topicsStep(kafka: Kafka, specs: TopicSpec[]): Service {
  return startupStep('kafka-topics', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, specs);
    } finally {
      await admin.disconnect();
    }
  });
}

export function migrationsStep(client: ClickHouseClient, config: Config, log: Logger): Service {
  return startupStep('clickhouse-migrations', async () => {
    await migrate(
      client,
      {
        database: config.clickhouse.database,
        cluster: config.clickhouse.cluster,
        ttlDays: config.clickhouse.ttlDays,
      },
      MIGRATIONS,
      log.child({ module: 'migrate' }),
    );
  });
}

/** Closes the ClickHouse client last (started first). */
export function clickhouseService(client: ClickHouseClient): Service {
  return { name: 'clickhouse-client', start: async () => {}, stop: () => client.close() };
}
