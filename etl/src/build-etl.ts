import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import type { Config } from '../../lib/config/config.js';
import type { Logger } from '../../lib/log.js';
import { BatchConsumer } from './batch-consumer.js';
import { ClickHouseSink } from './clickhouse-sink.js';
import { decodeProgress, type ProgressRow } from './progress-row.js';

export interface EtlDeps {
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  log: Logger;
}

/** The progress pipeline of the ETL: consumer → decoder → sink, wired from config. */
export function buildProgressEtl(config: Config, deps: EtlDeps): BatchConsumer<ProgressRow> {
  const sink = new ClickHouseSink<ProgressRow>(deps.clickhouse, {
    table: `${config.clickhouseDatabase}.progress_events`,
    useDedupToken: config.clickhouseDedupToken,
    distributedSync: config.clickhouseCluster !== undefined,
  });
  return new BatchConsumer<ProgressRow>(
    deps.kafka,
    sink,
    (partition) => (value, offset) => decodeProgress(value, partition, offset),
    {
      topic: config.kafkaTopicProgress,
      groupId: config.etlGroupId,
      batchMaxRows: config.etlBatchMaxRows,
      batchMaxWaitMs: config.etlBatchMaxWaitMs,
      fetchMinBytes: config.etlFetchMinBytes,
      fetchMaxBytesPerPartition: config.etlFetchMaxBytesPerPartition,
      partitionsConcurrency: config.etlPartitionsConcurrency,
      sessionTimeoutMs: config.etlSessionTimeoutMs,
      retryInitialMs: config.etlRetryInitialMs,
      retryMaxMs: config.etlRetryMaxMs,
    },
    deps.log.child({ module: 'etl' }),
  );
}
