import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import type { Config } from '../../lib/config/config.js';
import type { Service } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import type { Metrics } from '../../lib/metrics/registry.js';
import { BatchConsumer } from './batch-consumer.js';
import { ClickHouseSink } from './clickhouse-sink.js';
import { DeadLetterPublisher } from '../../lib/kafka/dead-letters.js';
import { PartitionWindows } from './dedup/partition-windows.js';
import { ClickHouseSeenIds } from './dedup/seen-ids-source.js';
import { streamBatchDecoder } from './stream-row.js';
import { progressStream } from '../../lib/contracts/progress.js';
import { userEventStream } from '../../lib/contracts/user-event.js';
import { exposureStream } from '../../lib/contracts/exposure.js';
import type { AnyStream } from '../../lib/contracts/stream.js';
import { deadLetterRows } from '../../lib/contracts/dead-letter.js';
import { ERASED_VIEWERS_TABLE } from '../../lib/clickhouse/erased-viewers.js';
import { ErasedViewers } from './erased-viewers.js';
import { LagPoller } from './lag-poller.js';

export interface EtlDeps {
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  log: Logger;
  metrics: Metrics;
}

export interface Etl {
  deadLetters: DeadLetterPublisher;
  progress: BatchConsumer;
  events: BatchConsumer;
  exposures: BatchConsumer;
  windows: PartitionWindows;
  lag: LagPoller;
  /** Start order: DLQ producer before the consumers; stopped in reverse. */
  services: Service[];
}

interface StreamSpec {
  topic: string;
  groupId: string;
  stream: AnyStream;
}

/** What every stream's consumer shares: the DLQ producer, the dead letters' table, the erased viewers. */
interface Shared {
  deadLetters: DeadLetterPublisher;
  letterSink: ClickHouseSink;
  erased: ErasedViewers;
}

function buildStream(
  config: Config,
  deps: EtlDeps,
  shared: Shared,
  spec: StreamSpec,
): { consumer: BatchConsumer; windows: PartitionWindows } {
  const log = deps.log.child({ component: 'etl' });
  const tableName = spec.stream.table!.name;
  const table = `${config.clickhouse.database}.${tableName}`;
  const decode = streamBatchDecoder(spec.stream);
  const windows = new PartitionWindows(
    { maxIdsPerPartition: config.etl.dedupMaxIdsPerPartition, horizonMs: config.etl.dedupHorizonMs },
    new ClickHouseSeenIds(deps.clickhouse, table),
    log.child({ topic: spec.topic }),
  );
  const sink = new ClickHouseSink(deps.clickhouse, {
    table,
    useDedupToken: config.clickhouse.dedupToken,
    distributedSync: config.clickhouse.cluster !== undefined,
  });
  const consumer = new BatchConsumer(
    {
      kafka: deps.kafka,
      sink,
      decode,
      windows,
      deadLetters: shared.deadLetters,
      log,
      metrics: deps.metrics,
      table: tableName,
      letterSink: shared.letterSink,
      erased: shared.erased,
    },
    { ...config.etl, topic: spec.topic, groupId: spec.groupId },
  );
  return { consumer, windows };
}

/** The ETL's pipelines, wired from config: one consumer per source topic, one DLQ. */
export function buildEtl(config: Config, deps: EtlDeps): Etl {
  const deadLetters = new DeadLetterPublisher(
    deps.kafka,
    config.topics.deadLetters,
    config.kafka.clientId,
    config.deadLetters.transactionTimeoutMs,
  );
  const shared: Shared = {
    deadLetters,
    letterSink: new ClickHouseSink(deps.clickhouse, {
      table: `${config.clickhouse.database}.${deadLetterRows.table!.name}`,
      useDedupToken: config.clickhouse.dedupToken,
      distributedSync: config.clickhouse.cluster !== undefined,
    }),
    erased: new ErasedViewers(
      deps.clickhouse,
      `${config.clickhouse.database}.${ERASED_VIEWERS_TABLE}`,
      config.erasure.listRefreshMs,
    ),
  };
  const progress = buildStream(config, deps, shared, {
    topic: config.topics.progress,
    groupId: config.etl.groupId,
    stream: progressStream,
  });
  const events = buildStream(config, deps, shared, {
    topic: config.topics.events,
    groupId: config.etl.eventsGroupId,
    stream: userEventStream,
  });
  const exposures = buildStream(config, deps, shared, {
    topic: config.topics.exposures,
    groupId: config.etl.exposuresGroupId,
    stream: exposureStream,
  });
  const lag = new LagPoller(
    { kafka: deps.kafka, metrics: deps.metrics, log: deps.log.child({ component: 'etl' }) },
    {
      sources: [
        { topic: config.topics.progress, groupId: config.etl.groupId },
        { topic: config.topics.events, groupId: config.etl.eventsGroupId },
        { topic: config.topics.exposures, groupId: config.etl.exposuresGroupId },
      ],
      intervalMs: config.etl.lagPollMs,
    },
  );
  return {
    deadLetters,
    progress: progress.consumer,
    events: events.consumer,
    exposures: exposures.consumer,
    windows: progress.windows,
    lag,
    services: [deadLetters, progress.consumer, events.consumer, exposures.consumer, lag],
  };
}
