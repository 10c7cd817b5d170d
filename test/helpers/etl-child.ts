import type { ClickHouseServer } from './clickhouse-server.js';

export interface EtlChildTarget {
  brokers: string[];
  topic: string;
  groupId: string;
  database: string;
}

/**
 * Environment of an ETL child process in tests: its own topics and groups, small blocks
 * and a short session timeout so a killed ETL's partitions move on quickly, any free
 * metrics port (several ETLs may run on one machine). The resume projection off: these
 * tests are about the loader, and it would write to the default PostgreSQL database.
 */
export function etlChildEnv(
  t: EtlChildTarget,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    KAFKA_BROKERS: t.brokers.join(','),
    KAFKA_TOPIC_PROGRESS: t.topic,
    KAFKA_TOPIC_EVENTS: `${t.topic}-events`,
    KAFKA_TOPIC_DLQ: `${t.topic}-dlq`,
    ETL_GROUP_ID: t.groupId,
    ETL_EVENTS_GROUP_ID: `${t.groupId}-events`,
    CLICKHOUSE_DATABASE: t.database,
    ETL_BATCH_MAX_ROWS: '500',
    ETL_BATCH_MAX_WAIT_MS: '100',
    ETL_SESSION_TIMEOUT_MS: '6000',
    ETL_METRICS_PORT: '0',
    RESUME_PROJECTION_ENABLED: 'false',
    LOG_LEVEL: 'info',
    ...overrides,
  };
}

/**
 * The 18.16 server: its test table is created by the test (old types), and it knows no
 * insert_deduplication_token; fast retries so an outage shows within seconds.
 */
export function oldServerEnv(server: ClickHouseServer, requestTimeoutMs = 2000): Record<string, string> {
  return {
    CLICKHOUSE_URL: server.url,
    CLICKHOUSE_DEDUP_TOKEN: 'false',
    CLICKHOUSE_REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
    ETL_MIGRATE_ON_START: 'false',
    ETL_RETRY_INITIAL_MS: '100',
    ETL_RETRY_MAX_MS: '1000',
  };
}

/**
 * The tables the ETL writes or reads that the 18.16 tests create (the migrations need a newer
 * server): progress events, dead letters and the erased viewers' list, production columns in
 * types 18.16 knows.
 */
export async function createOldServerTables(server: ClickHouseServer, database: string): Promise<void> {
  await server.query(`CREATE DATABASE ${database}`);
  await server.query(`CREATE TABLE ${database}.progress_events (
    event_id UUID, viewer_id UUID, film_id UUID, position_sec UInt32, duration_sec UInt32,
    occurred_at String, received_at String, schema_version UInt8,
    kafka_partition UInt32, kafka_offset UInt64
  ) ENGINE = MergeTree ORDER BY (film_id, viewer_id)`);
  await server.query(`CREATE TABLE ${database}.dead_letters (
    event_id Nullable(UUID), viewer_id Nullable(UUID), source_topic String, stage String,
    reason String, failed_at String, message_key Nullable(String), message_value Nullable(String),
    schema_version UInt8, kafka_partition UInt32, kafka_offset UInt64
  ) ENGINE = MergeTree ORDER BY (source_topic, kafka_partition, kafka_offset)`);
  await server.query(`CREATE TABLE ${database}.erased_viewers (
    viewer_id UUID, erasure_id UUID, erased_at DateTime DEFAULT now()
  ) ENGINE = ReplacingMergeTree ORDER BY viewer_id`);
}

/** Plain count() and distinct event ids of a table on the server. */
export async function storedCounts(
  server: ClickHouseServer,
  table: string,
): Promise<{ rows: number; distinct: number }> {
  const [rows, distinct] = (await server.query(`SELECT count(), uniqExact(event_id) FROM ${table}`))
    .split('\t')
    .map(Number);
  return { rows: rows!, distinct: distinct! };
}

/**
 * The ETL's log lines for a ClickHouse call that failed, by step: whichever one an outage
 * catches. The insert, or the erased-viewers list or a dedup window reloaded just then
 * (their retries may then outlast the outage, so the insert itself never fails); each is
 * retried in place, the same way.
 */
export function failedClickHouseSteps(etlLog: string): Map<string, number> {
  const steps = new Map<string, number>();
  for (const [, step] of etlLog.matchAll(
    /"msg":"(etl_insert|erased_viewers_load|dedup_window_load|etl_first_block_check|dead_letter_store)_failed"/g,
  ))
    steps.set(step!, (steps.get(step!) ?? 0) + 1);
  return steps;
}
